"""What moto lacks and greenlight's tests depend on, one module per AWS gap.

Each module patches moto in place (before its server starts) so that the
emulator answers, and refuses, as the AWS service does:

- `front_door`: every request's operation named in the request log, and a
  `ResourceConflictException` injectable on any Lambda operation;
- `lambda_revisions`: alias and function RevisionIds, and `PublishVersion`'s
  RevisionId and CodeSha256 guards;
- `lambda_settings`: the function settings moto drops, and the ones Lambda
  refuses (log levels without JSON logs, file systems without a VPC);
- `lambda_descriptions`: a description over 256 characters refused;
- `lambda_roles`: a role just created refused by CreateFunction for a while
  (`--role-propagation`), as while IAM propagates it;
- `lambda_pages`: `ListVersionsByFunction` in pages of at most 50;
- `lambda_states`: Pending functions and versions, updates in progress;
- `lambda_invoke`: a weighted alias routes by its weights, and the version
  that ran is named (`X-Amz-Executed-Version`);
- `lambda_extras`: provisioned concurrency, a function URL per qualifier;
- `route53`: exact DELETEs, one TTL per weighted set;
- `cloudwatch`: `DescribeAlarms` in pages and within its limits,
  percentiles (`p99`) in `GetMetricData`;
- `ssm`: `GetParameters` with a `:version` or `:label` selector;
- `lambda_policies`: a resource-based policy per alias and version;
- `elbv2`: weights 0-999, at most 5 target groups per forward action, the
  default rule only through ModifyListener, one Lambda target per target
  group, allowed to be invoked from it.
"""

import importlib.abc
import importlib.util
import os
import re
import sys

REQUIREMENTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "requirements.txt")


def require_pinned_moto() -> None:
    """Exits (code 2, one line on stderr) unless this Python's moto is the
    version `localstack/requirements.txt` pins: the patches here are written
    against that version, and another one fails far from the cause (a system
    moto 5.2.1 lacks `threaded_moto_server.MotoRequestHandler`)."""
    import moto

    with open(REQUIREMENTS, encoding="utf-8") as pins:
        pinned = re.search(r"^moto\[server\]==(\S+)", pins.read(), re.M).group(1)
    if moto.__version__ != pinned:
        print(
            f"{sys.executable} has moto {moto.__version__}, the emulator needs the pinned "
            f"{pinned}: run it with the project's virtualenv (`localstack/moto.sh install`, "
            "then .venv/bin/python)",
            file=sys.stderr,
        )
        sys.exit(2)


def when_imported(name: str, patch) -> None:
    """Runs `patch(module)` once the module `name` is imported, at once if
    it already is. Some of moto's services take seconds to import (SSM
    loads its public parameters); patched this way, they are imported when
    their first request comes, as plain moto does, not before `READY`."""
    if name in sys.modules:
        patch(sys.modules[name])
        return

    class Finder(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            run = spec.loader.exec_module

            def run_and_patch(module):
                run(module)
                patch(module)

            spec.loader.exec_module = run_and_patch
            return spec

    sys.meta_path.insert(0, Finder())
