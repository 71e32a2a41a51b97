"""Chat logs: exports imported into a case, participants to selectors, an explainable
grooming-tactic tagger and a review queue where a human decides (docs/chats.md)."""
