"""The observatory: what the network achieves, for the public (published monthly snapshots, no
login, no script) and for members (live figures): reports by hosting country on a world map,
time to removal, children identified, hits between agencies; small counts suppressed."""
