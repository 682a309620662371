"""TextAttack bootstrap with offline resources, a dynamic-padding model wrapper, recipes."""
