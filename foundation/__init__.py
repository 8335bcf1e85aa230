"""The bottom layer: mechanisms every app shares, with no knowledge of any app."""
