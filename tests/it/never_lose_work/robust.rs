//! Bases that a revert or a hand edit changed, comments as work, unreadable files and invalid CRs that do not block the fabric.
