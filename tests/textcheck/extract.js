// Reads a JSON list of texts on stdin; prints, for each, the entities the platforms' own code
// finds: twitter-text (X's official library) mentions, hashtags, cashtags and URLs, and
// @atproto/api RichText facets (what Bluesky clients turn into mentions, tags and links).
const twitter = require('twitter-text');
const { RichText } = require('@atproto/api');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const out = JSON.parse(input).map((text) => {
    const rt = new RichText({ text });
    rt.detectFacetsWithoutResolution();
    const facets = (rt.facets || []).flatMap((f) => f.features.map((feat) => {
      const kind = feat.$type.split('#')[1];
      return { kind, value: feat.tag || feat.did || feat.uri };
    }));
    // extractEntitiesWithIndices is what twitter-text's autoLink uses: links win over any
    // mention or hashtag that overlaps them.
    const entities = twitter.extractEntitiesWithIndices(text);
    const pick = (key) => entities.filter((e) => key in e).map((e) => e[key]);
    return {
      x: {
        mentions: pick('screenName'),
        hashtags: pick('hashtag'),
        cashtags: pick('cashtag'),
        urls: pick('url'),
      },
      bluesky: facets,
    };
  });
  process.stdout.write(JSON.stringify(out));
});
