"""IAM's eventual consistency, as Lambda meets it: a role just created.

On AWS a role that IAM created seconds ago is not yet assumable everywhere,
and CreateFunction with it fails (400 InvalidParameterValueException, "The
role defined for the function cannot be assumed by Lambda.") until it is;
moto accepts it at once. With `--role-propagation SECONDS`, a role created
less than that long ago is refused so; 0 (the default) refuses none.
"""


def install(propagation: float) -> None:
    if propagation <= 0:
        return
    from datetime import timedelta

    from moto.awslambda import responses
    from moto.awslambda.exceptions import InvalidParameterValueException
    from moto.core.utils import utcnow
    from moto.iam.models import iam_backends

    create = responses.LambdaResponse.create_function

    def refusing_new_roles(self):
        arn = (self.json_body or {}).get("Role") or ""
        for account in iam_backends.values():
            for backend in account.values():
                for role in backend.get_roles():
                    young = utcnow() - role.create_date < timedelta(seconds=propagation)
                    if role.arn == arn and young:
                        raise InvalidParameterValueException(
                            "The role defined for the function cannot be assumed by Lambda."
                        )
        return create(self)

    responses.LambdaResponse.create_function = refusing_new_roles
