"""The supply chain of the pipeline's build: the wheel of the running mlpipe and its locked wheelhouse."""
