"""Plans of units and the executors that run them."""
