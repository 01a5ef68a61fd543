"""What mlpipe builds for CodeBuild: the buildspec it renders and the slimming step run in the build container."""
