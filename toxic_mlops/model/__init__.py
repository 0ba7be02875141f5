"""Model stage: encode the splits, fit the wide path and train the network, the tuning objective."""
