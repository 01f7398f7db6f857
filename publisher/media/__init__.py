"""Images for threads: choose them, fetch them once, fit them to each platform, store them.

The flow (see the README, "Images and link cards"):

* **Choose** (:func:`choose`): the *lead image* for the hook — the first content image of the
  article that is not a banner, QR code, logo or read-more image — and, with
  ``threads.images: points``, the image next to the paragraph a point comes from.
* **Fetch** (:class:`Fetcher`), at ingest only: local paths relative to the article (inside its
  folder) and http(s) URLs, with a size cap, a timeout, a Referer for hosts that need one
  (WeChat's ``mmbiz.qpic.cn``), content sniffed with Pillow (the extension and the server's
  Content-Type are never trusted), WeChat's hotlink placeholder refused.
* **Store** (:class:`MediaStore`): content-addressed files under ``$PUBLISHER_HOME/media/``
  (``ab/abcdef…``), so a preview, an edit or a publish never fetches again.
* **Fit** (:func:`fit`): each platform's limits (Bluesky 1,000,000 bytes; X 5 MB, GIFs 15 MB;
  Mastodon 16 MB), animated GIFs kept where the platform takes them, else their first frame;
  EXIF stripped (JPEG losslessly when the orientation needs no rotation); re-encoded only when
  needed.
* **Alt text and credit** (:func:`alt_text`): the Markdown alt text when it is real, else the
  caption, else the sentence before the image, translated; the 图源 credit goes in the alt text
  and, as an "Image: …" line, in the post that carries the image. An image whose credit cannot
  be placed is not posted.

Uploading and posting live in the platform adapters and :mod:`publisher.publishing.publish`.

The modules, one kind of knowledge each:

* :mod:`publisher.media.store`: the content-addressed store, the media identity approval covers, the errors;
* :mod:`publisher.media.images`: what bytes are (sniffing, WeChat's placeholder, shapes) and fitting them
  to each platform's limits;
* :mod:`publisher.media.fetch`: fetching images (the Fetcher);
* :mod:`publisher.media.choose`: which images a thread gets, their alt text and credit;
* :mod:`publisher.media.attach`: putting them on the drafts' posts (and Bluesky's link card);
* :mod:`publisher.media.upload`: uploading them while a publication is claimed, and describing them;
* :mod:`publisher.media.edit`: editing a queued thread's images (keeping them with edited posts is
  :mod:`publisher.publishing.editing`'s).

The queue's tables of thread media and the upload ledger (media ids stored before the post that
uses them is sent) are the queue's: :mod:`publisher.queue.media`.

This package module re-exports only what the records import (lazily); import the rest from its
module.
"""

from publisher.media.store import media_identity

__all__ = ["media_identity"]
