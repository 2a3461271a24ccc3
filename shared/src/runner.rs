//! The embedded runner: drains the stage queues in one process.
