"""What the operator sees without reading logs: ``publisher status``
(:mod:`~publisher.cockpit.status`), the daemon's heartbeat and systemd notifications
(:mod:`~publisher.cockpit.monitor`, :mod:`~publisher.cockpit.sdnotify`) and alerts
(:mod:`~publisher.cockpit.notify`)."""
