//! Deletions that need proof, fresh reads on every attempt, knowing what landed, protected branches and the fast-forward window.
