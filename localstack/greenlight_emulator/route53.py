"""Route 53's change batches, where moto is laxer.

Route 53 refuses a change batch whose DELETE does not name a record exactly
as it is (every value), which makes a DELETE + CREATE batch a conditional
write; moto deletes by name or SetIdentifier alone. `exact_route53_deletes`
refuses as Route 53 does, so two runners racing for one record pair are
tested against the emulator.

Route 53 keeps one TTL for a whole set of weighted records (same name and
type): writing one with another TTL changes it on all of them (the value
written last applies); moto keeps each record's own. `one_ttl_per_weighted_set`
does as Route 53 does, so a wait on the TTL reads what Route 53 would serve.
"""


def install() -> None:
    exact_route53_deletes()


def one_ttl_per_weighted_set(zone, change_list: list) -> None:
    """After `change_list` applied to `zone`: the TTL of each weighted
    record it wrote, given to every weighted record of its name and type."""
    for value in change_list:
        record = value["ResourceRecordSet"]
        if value["Action"] == "DELETE" or record.get("Weight") is None or record.get("TTL") is None:
            continue
        name = record.get("Name", "").rstrip(".").lower()
        for rrset in zone.rrsets:
            if (
                rrset.name.rstrip(".").lower() == name
                and rrset.type == record.get("Type")
                and rrset.weight is not None
                and rrset.ttl is not None
            ):
                rrset.ttl = record["TTL"]


def exact_route53_deletes() -> None:
    """Make moto refuse a DELETE whose record differs from the current one."""
    from moto.route53 import models
    from moto.route53.exceptions import Route53ClientError

    change = models.Route53Backend.change_resource_record_sets

    def normal(record: dict) -> dict:
        name = record.get("Name", "").rstrip(".").lower() + "."
        values = [
            v["Value"] if isinstance(v, dict) else v
            for v in record.get("ResourceRecords") or []
        ]
        alias = record.get("AliasTarget") or {}
        return {
            "name": name,
            "type": record.get("Type"),
            "set": record.get("SetIdentifier"),
            "weight": str(record.get("Weight")) if record.get("Weight") is not None else None,
            "ttl": str(record.get("TTL")) if record.get("TTL") is not None else None,
            "values": sorted(values),
            "health": record.get("HealthCheckId"),
            "alias": (
                str(alias.get("DNSName", "")).rstrip(".").lower(),
                alias.get("HostedZoneId"),
            )
            if alias
            else None,
        }

    def current(rrset) -> dict:
        alias = rrset.alias_target or {}
        return normal(
            {
                "Name": rrset.name,
                "Type": rrset.type,
                "SetIdentifier": rrset.set_identifier,
                "Weight": rrset.weight,
                "TTL": rrset.ttl,
                "ResourceRecords": rrset.records,
                "HealthCheckId": rrset.health_check_id,
                "AliasTarget": alias,
            }
        )

    def key(record: dict) -> tuple:
        wanted = normal(record)
        return (wanted["name"], wanted["type"], wanted["set"])

    def exact(self, zoneid, change_list):
        zone = self.get_hosted_zone(zoneid)
        deleted = set()
        for value in change_list:
            if value["Action"] != "DELETE":
                continue
            wanted = normal(value["ResourceRecordSet"])
            if not any(current(r) == wanted for r in zone.rrsets):
                raise Route53ClientError(
                    "InvalidChangeBatch",
                    f"[Tried to delete resource record set [name='{wanted['name']}', "
                    f"type='{wanted['type']}', set-identifier='{wanted['set']}'] but the "
                    "values provided do not match the current values]",
                )
            deleted.add(key(value["ResourceRecordSet"]))
        # A record deleted and created again in one batch is replaced (moto
        # would refuse the CREATE if an identical one is in its journal).
        replaced = [
            dict(value, Action="UPSERT")
            if value["Action"] == "CREATE" and key(value["ResourceRecordSet"]) in deleted
            else value
            for value in change_list
            if not (value["Action"] == "DELETE" and key(value["ResourceRecordSet"]) in {
                key(v["ResourceRecordSet"]) for v in change_list if v["Action"] == "CREATE"
            })
        ]
        out = change(self, zoneid, replaced)
        one_ttl_per_weighted_set(zone, change_list)
        return out

    models.Route53Backend.change_resource_record_sets = exact
