"""IPAM read APIs from the fixture, against a started emulator seeded with the demo."""

import ipaddress
import os
import sys
import unittest

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import seed  # noqa: E402  (support put emulator/ on sys.path)

# (boto3 method, list key in the answer, id key of an item)
DESCRIBES = (
    ("describe_ipams", "Ipams", "IpamId"),
    ("describe_ipam_scopes", "IpamScopes", "IpamScopeId"),
    ("describe_ipam_pools", "IpamPools", "IpamPoolId"),
)


def by_name(items):
    """{Name tag: item} for EC2 items with tags."""
    return {
        next(t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"): item
        for item in items
    }


_SEEDED = {}


def seeded_emulator():
    """One emulator seeded with the demo for the whole module (seeding takes seconds)."""
    if not _SEEDED:
        emulator = support.aws_emulator.start()
        unittest.addModuleCleanup(emulator.stop)
        # moto's state is per process: start from an empty one, then seed.
        support.http("POST", emulator.url + "/moto-api/reset")
        _SEEDED.update(emulator=emulator, ids=seed.seed_demo(emulator.url))
    return _SEEDED["emulator"], _SEEDED["ids"]


class IpamTestCase(support.EmulatorTestCase):
    @classmethod
    def setUpClass(cls):
        emulator, cls.ids = seeded_emulator()
        cls.url = emulator.url
        cls.fixture = seed.demo_ipam_fixture(cls.ids)

    def setUp(self):
        self.ec2 = self.client("ec2")
        # Every test starts from the demo fixture (some replace it).
        self.assertEqual(self.control("POST", "/_emulator/ipam", self.fixture)[0], 200)

    def pool_id(self, key):
        return seed.DemoIpamIds.for_demo().pools[key]

    def scope_id(self, kind="private"):
        return seed.DemoIpamIds.for_demo().scopes[kind]

    def all_pages(self, method, list_key, **params):
        """Every item over all pages, checking each page and the token chain."""
        items, tokens = [], []
        while True:
            answer = getattr(self.ec2, method)(**params)
            page = answer[list_key]
            self.assertLessEqual(len(page), params.get("MaxResults", 1000))
            items += page
            token = answer.get("NextToken")
            if not token:
                return items, tokens
            self.assertTrue(page, "a token must not follow an empty page")
            self.assertNotIn(token, tokens)
            tokens.append(token)
            params["NextToken"] = token

    def assert_ec2_error(self, call, code, status=400):
        with self.assertRaises(ClientError) as caught:
            call()
        self.assertEqual(caught.exception.response["Error"]["Code"], code)
        self.assertEqual(
            caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], status
        )
        return caught.exception


class PagingTest(IpamTestCase):
    def test_describe_calls_page_by_5(self):
        for method, list_key, id_key in DESCRIBES:
            fixture_key = {
                "Ipams": "ipams",
                "IpamScopes": "scopes",
                "IpamPools": "pools",
            }
            expected = [i[id_key] for i in self.fixture[fixture_key[list_key]]]
            items, tokens = self.all_pages(method, list_key, MaxResults=5)
            self.assertEqual([i[id_key] for i in items], expected, method)
            self.assertEqual(len(tokens), (len(expected) - 1) // 5, method)

    def test_twelve_pools_take_three_pages(self):
        template = self.fixture["pools"][0]
        pools = [dict(template, IpamPoolId=f"ipam-pool-{n:017x}") for n in range(12)]
        fixture = dict(self.fixture, pools=pools, poolCidrs={}, poolAllocations={})
        self.assertEqual(self.control("POST", "/_emulator/ipam", fixture)[0], 200)
        sizes = []
        params = {"MaxResults": 5}
        while True:
            answer = self.ec2.describe_ipam_pools(**params)
            sizes.append(len(answer["IpamPools"]))
            if "NextToken" not in answer:
                break
            params["NextToken"] = answer["NextToken"]
        self.assertEqual(sizes, [5, 5, 2])
        items, _ = self.all_pages("describe_ipam_pools", "IpamPools", MaxResults=5)
        self.assertEqual(
            [p["IpamPoolId"] for p in items], [p["IpamPoolId"] for p in pools]
        )

    def test_resource_cidrs_page_by_5(self):
        expected = self.fixture["resourceCidrs"]
        items, tokens = self.all_pages(
            "get_ipam_resource_cidrs",
            "IpamResourceCidrs",
            IpamScopeId=self.scope_id(),
            MaxResults=5,
        )
        self.assertEqual(len(items), len(expected))
        self.assertEqual(len(tokens), (len(expected) - 1) // 5)
        self.assertEqual(
            [(i["ResourceId"], i["ResourceCidr"]) for i in items],
            [(e["ResourceId"], e["ResourceCidr"]) for e in expected],
        )

    def test_pool_cidrs_page_by_5(self):
        for key, cidr, *_ in seed.DEMO_POOLS:
            items, _ = self.all_pages(
                "get_ipam_pool_cidrs",
                "IpamPoolCidrs",
                IpamPoolId=self.pool_id(key),
                MaxResults=5,
            )
            self.assertEqual([i["Cidr"] for i in items], [cidr])
            self.assertEqual(items[0]["State"], "provisioned")

    def test_pool_allocations_pages_start_at_1000(self):
        pool = self.pool_id("use1-ipv4")
        items, tokens = self.all_pages(
            "get_ipam_pool_allocations",
            "IpamPoolAllocations",
            IpamPoolId=pool,
            MaxResults=1000,
        )
        self.assertEqual(
            [i["Cidr"] for i in items], ["10.0.0.0/16", "10.2.0.0/22", "10.3.0.0/16"]
        )
        self.assertEqual(tokens, [])
        for bad in (5, 999, 100001):
            self.assert_ec2_error(
                lambda: self.ec2.get_ipam_pool_allocations(
                    IpamPoolId=pool, MaxResults=bad
                ),
                "InvalidParameterValue",
            )

    def test_many_allocations_page_by_1000(self):
        fixture = dict(self.fixture)
        pool = self.pool_id("use1-ipv4")
        network = ipaddress.ip_network("10.0.0.0/12")
        fixture["poolAllocations"] = {
            pool: [
                {
                    "Cidr": str(s),
                    "IpamPoolAllocationId": f"ipam-pool-alloc-{n:032x}",
                    "ResourceType": "custom",
                }
                for n, s in enumerate(list(network.subnets(new_prefix=24))[:2500])
            ]
        }
        self.assertEqual(self.control("POST", "/_emulator/ipam", fixture)[0], 200)
        items, tokens = self.all_pages(
            "get_ipam_pool_allocations",
            "IpamPoolAllocations",
            IpamPoolId=pool,
            MaxResults=1000,
        )
        self.assertEqual(len(items), 2500)
        self.assertEqual(len({i["Cidr"] for i in items}), 2500)
        self.assertEqual(len(tokens), 2)

    def test_max_results_range(self):
        for bad in (4, 1001, 0):
            self.assert_ec2_error(
                lambda: self.ec2.describe_ipam_pools(MaxResults=bad),
                "InvalidParameterValue",
            )
            self.assert_ec2_error(
                lambda: self.ec2.get_ipam_resource_cidrs(
                    IpamScopeId=self.scope_id(), MaxResults=bad
                ),
                "InvalidParameterValue",
            )

    def test_tokens_are_checked(self):
        first = self.ec2.get_ipam_resource_cidrs(
            IpamScopeId=self.scope_id(), MaxResults=5
        )
        token = first["NextToken"]
        self.assert_ec2_error(
            lambda: self.ec2.get_ipam_resource_cidrs(
                IpamScopeId=self.scope_id(), MaxResults=5, NextToken=token + "x"
            ),
            "InvalidNextToken",
        )
        # A token belongs to the query that produced it.
        self.assert_ec2_error(
            lambda: self.ec2.get_ipam_resource_cidrs(
                IpamScopeId=self.scope_id(),
                ResourceType="vpc",
                MaxResults=5,
                NextToken=token,
            ),
            "InvalidNextToken",
        )
        # MaxResults may change between pages.
        rest = self.ec2.get_ipam_resource_cidrs(
            IpamScopeId=self.scope_id(), MaxResults=1000, NextToken=token
        )
        self.assertEqual(
            len(first["IpamResourceCidrs"]) + len(rest["IpamResourceCidrs"]), 20
        )


class ContentTest(IpamTestCase):
    def test_ipam_and_scopes(self):
        (ipam,) = self.ec2.describe_ipams()["Ipams"]
        self.assertEqual(ipam["IpamRegion"], "us-east-1")
        self.assertEqual(
            [r["RegionName"] for r in ipam["OperatingRegions"]],
            ["us-east-1", "eu-west-1"],
        )
        scopes = {
            s["IpamScopeType"]: s for s in self.ec2.describe_ipam_scopes()["IpamScopes"]
        }
        self.assertEqual(
            ipam["PrivateDefaultScopeId"], scopes["private"]["IpamScopeId"]
        )
        self.assertEqual(ipam["PublicDefaultScopeId"], scopes["public"]["IpamScopeId"])
        self.assertIs(scopes["public"]["IsDefault"], True)
        self.assertEqual(scopes["public"]["PoolCount"], 0)

    def test_pools(self):
        pools = by_name(self.ec2.describe_ipam_pools()["IpamPools"])
        self.assertEqual(pools["top-ipv4"]["Locale"], "None")
        self.assertNotIn("SourceIpamPoolId", pools["top-ipv4"])
        self.assertEqual(
            pools["use1-ipv4"]["SourceIpamPoolId"], pools["top-ipv4"]["IpamPoolId"]
        )
        self.assertEqual(pools["euw1-ipv4"]["Locale"], "eu-west-1")
        self.assertEqual(pools["use1-ipv6"]["AddressFamily"], "ipv6")
        self.assertIs(pools["top-ipv4"]["AutoImport"], False)
        self.assertEqual(pools["use1-ipv4"]["PoolDepth"], 2)

    def test_allocations_name_the_seeded_vpcs(self):
        vpcs = by_name(self.ec2.describe_vpcs()["Vpcs"])
        allocations = self.ec2.get_ipam_pool_allocations(
            IpamPoolId=self.pool_id("use1-ipv4")
        )
        by_cidr = {a["Cidr"]: a for a in allocations["IpamPoolAllocations"]}
        self.assertEqual(
            by_cidr["10.0.0.0/16"]["ResourceId"], vpcs["prod-core"]["VpcId"]
        )
        self.assertEqual(
            by_cidr["10.2.0.0/22"]["ResourceId"], vpcs["shared-services"]["VpcId"]
        )
        self.assertEqual(by_cidr["10.3.0.0/16"]["ResourceType"], "custom")
        top = self.ec2.get_ipam_pool_allocations(IpamPoolId=self.pool_id("top-ipv4"))
        self.assertEqual(
            {
                (a["Cidr"], a["ResourceType"], a["ResourceId"])
                for a in top["IpamPoolAllocations"]
            },
            {
                ("10.0.0.0/12", "ipam-pool", self.pool_id("use1-ipv4")),
                ("10.16.0.0/12", "ipam-pool", self.pool_id("euw1-ipv4")),
            },
        )
        free = self.ec2.get_ipam_pool_allocations(IpamPoolId=self.pool_id("euw1-ipv4"))
        self.assertEqual(free["IpamPoolAllocations"], [])

    def test_resource_cidrs_match_the_seeded_estate(self):
        scope = self.scope_id()
        cidrs = self.ec2.get_ipam_resource_cidrs(IpamScopeId=scope)["IpamResourceCidrs"]
        for region in ("us-east-1", "eu-west-1"):
            ec2 = self.client("ec2", region)
            for subnet in ec2.describe_subnets()["Subnets"]:
                (entry,) = [c for c in cidrs if c["ResourceId"] == subnet["SubnetId"]]
                usable = ipaddress.ip_network(subnet["CidrBlock"]).num_addresses - 5
                used = usable - subnet["AvailableIpAddressCount"]
                self.assertAlmostEqual(entry["IpUsage"], used / usable)
                self.assertEqual(entry["ResourceRegion"], region)
                self.assertEqual(entry["VpcId"], subnet["VpcId"])
            vpc_ids = {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
            self.assertEqual(
                vpc_ids,
                {
                    c["ResourceId"]
                    for c in cidrs
                    if c["ResourceType"] == "vpc" and c["ResourceRegion"] == region
                },
            )
        states = {(c["ResourceName"], c["ResourceCidr"]): c for c in cidrs}
        self.assertEqual(
            states[("prod-core", "10.0.0.0/16")]["ManagementState"], "managed"
        )
        self.assertEqual(
            states[("prod-core", "10.0.0.0/16")]["ComplianceStatus"], "compliant"
        )
        self.assertEqual(
            states[("prod-core", "10.1.0.0/20")]["ManagementState"], "unmanaged"
        )
        self.assertEqual(
            states[("legacy-eu", "10.0.128.0/20")]["OverlapStatus"], "overlapping"
        )
        self.assertEqual(
            states[("eu-small", "192.168.0.0/24")]["OverlapStatus"], "nonoverlapping"
        )
        self.assertEqual(states[("shared-services", "10.2.0.0/22")]["IpUsage"], 1.0)

    def test_resource_cidr_parameters_narrow(self):
        scope = self.scope_id()

        def count(**params):
            answer = self.ec2.get_ipam_resource_cidrs(IpamScopeId=scope, **params)
            return len(answer["IpamResourceCidrs"])

        self.assertEqual(count(ResourceType="vpc"), 6)
        self.assertEqual(count(ResourceType="subnet"), 14)
        self.assertEqual(count(IpamPoolId=self.pool_id("use1-ipv4")), 10)
        self.assertEqual(count(ResourceId=self.ids["us-east-1"]["prod-core"]), 2)
        self.assertEqual(
            count(ResourceTag={"Key": "ipam-monitor:warning-percent", "Value": "50"}), 1
        )
        self.assertEqual(count(ResourceOwner="123456789012"), 20)
        self.assertEqual(
            self.ec2.get_ipam_resource_cidrs(IpamScopeId=self.scope_id("public"))[
                "IpamResourceCidrs"
            ],
            [],
        )

    def test_filters(self):
        def pools(*filters):
            answer = self.ec2.describe_ipam_pools(
                Filters=[{"Name": n, "Values": v} for n, v in filters]
            )
            return sorted(by_name(answer["IpamPools"]))

        self.assertEqual(len(pools(("ipam-scope-id", [self.scope_id()]))), 4)
        self.assertEqual(pools(("ipam-scope-id", [self.scope_id("public")])), [])
        self.assertEqual(pools(("locale", ["eu-west-1"])), ["euw1-ipv4"])
        self.assertEqual(pools(("address-family", ["ipv6"])), ["use1-ipv6"])
        self.assertEqual(pools(("tag:Name", ["use1-*"])), ["use1-ipv4", "use1-ipv6"])
        self.assertEqual(
            pools(("address-family", ["ipv4"]), ("locale", ["None"])), ["top-ipv4"]
        )
        self.assert_ec2_error(
            lambda: self.ec2.describe_ipam_pools(
                Filters=[{"Name": "no-such-filter", "Values": ["x"]}]
            ),
            "InvalidParameterValue",
        )
        managed = self.ec2.get_ipam_resource_cidrs(
            IpamScopeId=self.scope_id(),
            Filters=[{"Name": "management-state", "Values": ["managed"]}],
        )
        self.assertEqual(len(managed["IpamResourceCidrs"]), 10)

    def test_ids(self):
        pool = self.pool_id("euw1-ipv4")
        answer = self.ec2.describe_ipam_pools(IpamPoolIds=[pool])
        self.assertEqual([p["IpamPoolId"] for p in answer["IpamPools"]], [pool])
        self.assert_ec2_error(
            lambda: self.ec2.describe_ipam_pools(
                IpamPoolIds=["ipam-pool-0000000000000000f"]
            ),
            "InvalidIpamPoolId.NotFound",
        )
        self.assert_ec2_error(
            lambda: self.ec2.get_ipam_pool_cidrs(
                IpamPoolId="ipam-pool-0000000000000000f"
            ),
            "InvalidIpamPoolId.NotFound",
        )
        self.assert_ec2_error(
            lambda: self.ec2.get_ipam_resource_cidrs(
                IpamScopeId="ipam-scope-0000000000000000f"
            ),
            "InvalidIpamScopeId.NotFound",
        )


class RegionAndAccountTest(IpamTestCase):
    def test_ipam_is_read_in_its_home_region_only(self):
        eu = self.client("ec2", "eu-west-1")
        self.assertEqual(eu.describe_ipams()["Ipams"], [])
        self.assertEqual(eu.describe_ipam_pools()["IpamPools"], [])
        self.assert_ec2_error(
            lambda: eu.get_ipam_pool_cidrs(IpamPoolId=self.pool_id("euw1-ipv4")),
            "InvalidIpamPoolId.NotFound",
        )

    def test_other_accounts_do_not_see_it(self):
        role = self.client("sts").assume_role(
            RoleArn="arn:aws:iam::111111111111:role/monitor", RoleSessionName="monitor"
        )
        other = self.client("ec2", **role["Credentials"])
        caller = self.client("sts", **role["Credentials"]).get_caller_identity()
        self.assertEqual(caller["Account"], "111111111111")
        self.assertEqual(other.describe_ipams()["Ipams"], [])
        self.assertEqual(len(self.ec2.describe_ipams()["Ipams"]), 1)


class FaultAndFixtureTest(IpamTestCase):
    def test_deny_answers_unauthorized_operation(self):
        fixture = dict(self.fixture, deny=["GetIpamResourceCidrs", "DescribeSubnets"])
        self.assertEqual(self.control("POST", "/_emulator/ipam", fixture)[0], 200)
        error = self.assert_ec2_error(
            lambda: self.ec2.get_ipam_resource_cidrs(IpamScopeId=self.scope_id()),
            "UnauthorizedOperation",
            403,
        )
        self.assertIn("ec2:GetIpamResourceCidrs", str(error))
        # Any EC2 Action can be denied; the others keep working.
        self.assert_ec2_error(self.ec2.describe_subnets, "UnauthorizedOperation", 403)
        self.assertEqual(len(self.ec2.describe_ipams()["Ipams"]), 1)
        self.assertTrue(self.ec2.describe_vpcs()["Vpcs"])

    def test_denied_error_document(self):
        fixture = dict(self.fixture, deny=["DescribeIpams"])
        self.control("POST", "/_emulator/ipam", fixture)
        status, _, body = ec2_raw(self.url, "Action=DescribeIpams&Version=2016-11-15")
        self.assertEqual(status, 403)
        text = body.decode()
        self.assertIn(
            "<Response><Errors><Error><Code>UnauthorizedOperation</Code>", text
        )
        self.assertIn("<RequestID>", text)

    def test_success_document(self):
        status, headers, body = ec2_raw(
            self.url, "Action=DescribeIpamScopes&Version=2016-11-15"
        )
        self.assertEqual(status, 200)
        self.assertTrue(headers["content-type"].startswith("text/xml"))
        text = body.decode()
        self.assertIn(
            '<DescribeIpamScopesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">',
            text,
        )
        self.assertIn("<ipamScopeSet><item><ownerId>123456789012</ownerId>", text)
        self.assertIn("<isDefault>true</isDefault>", text)

    def test_resource_cidr_name_tags_and_zone(self):
        # The Name tag (resourceName), all tags (resourceTagSet) and a subnet's
        # zone id come through in AWS's element names: the monitor names and
        # places IPAM-only records from them.
        cidrs = self.fixture["resourceCidrs"]
        subnet = dict(
            next(c for c in cidrs if c["ResourceType"] == "subnet"),
            ResourceName="app-a",
            ResourceTags=[
                {"Key": "Name", "Value": "app-a"},
                {"Key": "team", "Value": "x"},
            ],
            AvailabilityZoneId="use1-az4",
        )
        fixture = dict(self.fixture, resourceCidrs=[subnet])
        self.assertEqual(self.control("POST", "/_emulator/ipam", fixture)[0], 200)
        status, _, body = ec2_raw(
            self.url,
            "Action=GetIpamResourceCidrs&Version=2016-11-15"
            f"&IpamScopeId={subnet['IpamScopeId']}",
        )
        self.assertEqual(status, 200)
        text = body.decode()
        self.assertIn("<resourceName>app-a</resourceName>", text)
        self.assertIn(
            "<resourceTagSet><item><key>Name</key><value>app-a</value></item>"
            "<item><key>team</key><value>x</value></item></resourceTagSet>",
            text,
        )
        self.assertIn("<availabilityZoneId>use1-az4</availabilityZoneId>", text)
        answer = self.ec2.get_ipam_resource_cidrs(IpamScopeId=subnet["IpamScopeId"])
        (parsed,) = answer["IpamResourceCidrs"]
        self.assertEqual(parsed["ResourceName"], "app-a")
        self.assertEqual(parsed["ResourceTags"], subnet["ResourceTags"])
        self.assertEqual(parsed["AvailabilityZoneId"], "use1-az4")

    def test_missing_required_parameter_and_dry_run(self):
        status, _, body = ec2_raw(
            self.url, "Action=GetIpamPoolCidrs&Version=2016-11-15"
        )
        self.assertEqual(status, 400)
        self.assertIn(b"<Code>MissingParameter</Code>", body)
        self.assert_ec2_error(
            lambda: self.ec2.describe_ipams(DryRun=True), "DryRunOperation", 412
        )

    def test_no_fixture_means_no_ipam(self):
        self.assertEqual(self.control("DELETE", "/_emulator/ipam"), (200, {}))
        self.assertEqual(self.control("GET", "/_emulator/ipam"), (200, {}))
        for method, list_key, _ in DESCRIBES:
            self.assertEqual(getattr(self.ec2, method)()[list_key], [])
        self.assert_ec2_error(
            lambda: self.ec2.get_ipam_pool_cidrs(IpamPoolId=self.pool_id("top-ipv4")),
            "InvalidIpamPoolId.NotFound",
        )

    def test_fixture_round_trip_and_checks(self):
        self.assertEqual(self.control("GET", "/_emulator/ipam"), (200, self.fixture))
        status, answer = self.control(
            "POST", "/_emulator/ipam", {"pools": [{"IpamPoolId": "p"}]}
        )
        self.assertEqual(status, 400)
        self.assertIn("IpamArn names no IPAM", answer["error"])
        self.assertEqual(self.control("POST", "/_emulator/ipam", {"bogus": 1})[0], 400)
        # A rejected fixture leaves the installed one in place.
        self.assertEqual(self.control("GET", "/_emulator/ipam"), (200, self.fixture))


def ec2_raw(url, body):
    """An EC2 query request signed for us-east-1, as the Rust SDK sends it."""
    headers = {"content-type": "application/x-www-form-urlencoded"}
    data = body.encode()
    headers = support.signed_headers(
        "POST", url + "/", data, "ec2", "us-east-1", headers
    )
    return support.http("POST", url + "/", data, headers)


if __name__ == "__main__":
    unittest.main()
