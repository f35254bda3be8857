"""`ListVersionsByFunction` in pages, as Lambda answers it.

Lambda lists a function's versions oldest first, `$LATEST` first of all,
at most 50 a call (fewer when `MaxItems` asks), with a `NextMarker` to go
on from; moto answers every version in one page, so a reader that stops
after its first page would pass against it. Here each page holds at most
`versions_per_page` (50 by default, as Lambda; tests give fewer so that a
few versions make several pages) and `NextMarker` is an offset, as opaque
to the reader as Lambda's.
"""

import json


def install(versions_per_page: int) -> None:
    from moto.awslambda import responses

    listed = responses.LambdaResponse.list_versions_by_function

    def paged(self):
        versions = json.loads(listed(self))["Versions"]
        asked = self.querystring.get("MaxItems", [None])[0]
        size = min(int(asked or versions_per_page), versions_per_page)
        start = int(self.querystring.get("Marker", ["0"])[0] or 0)
        page = {"Versions": versions[start : start + size]}
        if start + size < len(versions):
            page["NextMarker"] = str(start + size)
        return json.dumps(page)

    responses.LambdaResponse.list_versions_by_function = paged
