"""schedule.yaml and time: the file (:mod:`~publisher.schedule.config`,
:mod:`~publisher.schedule.sections`), slots and the quota window (:mod:`~publisher.schedule.slots`),
what a slot does (:mod:`~publisher.schedule.rules`, shared by the daemon and ``publisher schedule``),
and cost, budget and the forecast (:mod:`~publisher.schedule.cost`, :mod:`~publisher.schedule.budget`,
:mod:`~publisher.schedule.expect`)."""
