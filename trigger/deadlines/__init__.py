"""Deadlines that reach people: `reminders` (the sweep: claims, sending, backing off), `undelivered`
(what could not be sent: reported, listed, retried), `notices` (the e-mails' words), `service`
(`reminders serve`, the morning digest), `calendar_feed` (`trigger calendar ics`) and `working_days`
(`calendar due` and `holidays`). The deadline rows themselves are kept by the unit of work
(`trigger.store.schedule`)."""
