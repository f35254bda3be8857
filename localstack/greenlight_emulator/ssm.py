"""SSM's `GetParameters` with a selector, as SSM answers it.

A name may end in a selector, `:3` (a version) or `:label` (a label): SSM
answers that version, with `Name` the parameter's name and `Selector` the
selector asked for (`:3`), which is how a client tells which of its names
each answer is. moto finds the version but leaves `Selector` out, so no
client could match it to its name; here it is added.
"""

from . import when_imported


def install() -> None:
    when_imported("moto.ssm.responses", patch)


def patch(responses) -> None:
    from moto.core.responses import ActionResult

    def get_parameters(self):
        names = self._get_param("Names")
        with_decryption = self._get_param("WithDecryption")
        found = self.ssm_backend.get_parameters(names)
        answer = {"Parameters": [], "InvalidParameters": []}
        for asked, parameter in found.items():
            data = parameter.response_object(with_decryption, self.region)
            # `/name:3` or `arn:…:parameter/name:label`: the part after the
            # name (an ARN has colons of its own before it).
            tail = asked.rsplit("parameter", 1)[-1] if asked.startswith("arn:") else asked
            if ":" in tail:
                data["Selector"] = ":" + tail.rsplit(":", 1)[1]
            answer["Parameters"].append(data)
        answer["InvalidParameters"] = [name for name in names if name not in found]
        return ActionResult(answer)

    responses.SimpleSystemManagerResponse.get_parameters = get_parameters
