"""Taking a claimed thread from the queue to a network: :mod:`~publisher.publishing.publish`
(the reply chain, exactly once), :mod:`~publisher.publishing.failures` (what a failure means for
the thread and the account), :mod:`~publisher.publishing.editing` (an edited thread checked before
the queue stores it), :mod:`~publisher.publishing.corrections` (a correction replies to the original)."""
