"""Every IAM document mlpipe writes or prints, one module per role or audience.

statements.py is the one builder of statements and documents; the other modules only decide what
to grant. Nothing here calls AWS: planners (plan/iam.py) and the CLI (`mlpipe iam-policy`) use these
documents as plain data.
"""
