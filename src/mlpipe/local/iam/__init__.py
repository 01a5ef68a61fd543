"""IAM for the embedded AWS: the policy evaluator, each operation's action and resource, the authorizer."""
