"""A tiny function: answers with the event it was given."""


def handler(event, context):
    return event
