"""Extensions of the embedded AWS; every module here is imported by the server at start-up."""
