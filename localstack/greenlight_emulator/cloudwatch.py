"""CloudWatch's `DescribeAlarms` pages and limits, and percentiles.

CloudWatch's DescribeAlarms answers in pages (`MaxRecords`, 50 by default,
and a `NextToken`), takes at most 100 `AlarmNames` and a `MaxRecords` from 1
to 100, refusing anything else (400 ValidationError); moto answers every
alarm at once and takes anything. `page_alarms` pages and refuses as
CloudWatch does, and with `--alarms-per-page N` answers at most N alarms a
page (CloudWatch may answer fewer than MaxRecords), so a client that reads
one page, or sends more names than one call takes, is caught.

GetMetricData answers extended statistics (percentiles such as `p99`,
`p99.9`), which moto answers with nothing; `percentiles` computes them from
the values put, as CloudWatch does for raw values (nearest rank).
"""

import math
import re

PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?|100)")


def install(alarms_per_page: int) -> None:
    page_alarms(alarms_per_page)
    percentiles()


def page_alarms(alarms_per_page: int) -> None:
    """Make moto's DescribeAlarms answer in pages, within CloudWatch's limits."""
    from moto.cloudwatch import responses
    from moto.cloudwatch.exceptions import ValidationError
    from moto.core.responses import ActionResult

    describe = responses.CloudWatchResponse.describe_alarms

    def paged(self):
        names = self._get_param("AlarmNames", [])
        if len(names) > 100:
            raise ValidationError(
                f"1 validation error detected: Value '{names}' at 'alarmNames' failed to "
                "satisfy constraint: Member must have length less than or equal to 100"
            )
        asked = self._get_param("MaxRecords")
        if asked is not None and not 1 <= int(asked) <= 100:
            raise ValidationError(
                f"1 validation error detected: Value '{asked}' at 'maxRecords' failed to "
                "satisfy constraint: Member must have value between 1 and 100"
            )
        everything = describe(self).result
        alarms = everything["MetricAlarms"] + everything["CompositeAlarms"]
        size = min(int(asked or 50), alarms_per_page)
        start = int(self._get_param("NextToken") or 0)
        page = alarms[start : start + size]
        result = {
            "MetricAlarms": [a for a in page if a.rule is None],
            "CompositeAlarms": [a for a in page if a.rule is not None],
        }
        if start + size < len(alarms):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    responses.CloudWatchResponse.describe_alarms = paged


def percentiles() -> None:
    """Answer `pNN` statistics from the raw values of a period."""
    from moto.cloudwatch import models

    statistic = models.Statistics.get_statistics_for_type

    def with_percentiles(self, stat: str):
        wanted = PERCENTILE.fullmatch(stat)
        values = sorted(self.metric_single_values_list)
        if not wanted or not values:
            return statistic(self, stat)
        rank = max(1, math.ceil(float(wanted.group(1)) / 100 * len(values)))
        return values[rank - 1]

    models.Statistics.get_statistics_for_type = with_percentiles
