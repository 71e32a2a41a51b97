"""Where reported content is hosted: resolving host names and judging the addresses."""
