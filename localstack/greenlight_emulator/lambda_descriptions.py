"""Lambda's limit of 256 characters for a description, which moto lacks.

Lambda refuses a `Description` longer than 256 characters on
CreateFunction, UpdateFunctionConfiguration, PublishVersion, CreateAlias
and UpdateAlias (400 ValidationException, "Member must have length less
than or equal to 256"), before any other check; moto stores any length.
greenlight cuts a version's provenance to fit (and checks
`function.description` when it reads the config), and refuses a
`[release]` plan whose release record (written into the alias
description with each move) could outgrow the limit, so a description it
sends that is too long shows here.
"""

LIMIT = 256


def install() -> None:
    from moto.awslambda import responses
    from moto.awslambda.exceptions import ValidationException

    def refusing_long_descriptions(handler, asked):
        def checked(self):
            description = asked(self)
            if description is not None and len(description) > LIMIT:
                raise ValidationException(
                    description,
                    "description",
                    f"Member must have length less than or equal to {LIMIT}",
                )
            return handler(self)

        return checked

    def in_body(self):
        return (self.json_body or {}).get("Description")

    for name, asked in (
        ("create_function", in_body),
        ("update_function_configuration", in_body),
        ("publish_version", lambda self: self._get_param("Description")),
        ("create_alias", in_body),
        ("update_alias", in_body),
    ):
        setattr(
            responses.LambdaResponse,
            name,
            refusing_long_descriptions(getattr(responses.LambdaResponse, name), asked),
        )
