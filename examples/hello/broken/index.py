"""The same function with a bug: it fails on every request."""


def handler(event, context):
    raise RuntimeError("boom: the config file is missing")
