"""ENI addresses and subnet CIDR reservations as the monitor reads them (issue 19).

moto serves secondary IPs, the subnet-id filter, Status/InterfaceType/Description
and subnet CIDR reservations itself; IPv4 prefixes come from eni_prefixes.py.
The tests run in a region nothing else here uses, so they need no reset.
"""

import os
import sys
import unittest

from botocore.exceptions import ClientError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

REGION = "ca-central-1"
IMAGE = "ami-12345678"  # moto launches any image id


class EniAddressesTest(support.EmulatorTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ec2 = support.boto3.client(
            "ec2",
            endpoint_url=cls.url,
            region_name=REGION,
            aws_access_key_id=support.ACCESS_KEY,
            aws_secret_access_key=support.SECRET_KEY,
            config=support.Config(proxies={}, retries={"max_attempts": 1}),
        )
        cls.vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]

    def setUp(self):
        self.ec2 = self.client("ec2", REGION)

    def subnet(self, n):
        """The test VPC's subnet 10.20.n.0/24 (each test has its own n)."""
        cidr = f"10.20.{n}.0/24"
        return self.ec2.create_subnet(
            VpcId=self.vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}a"
        )["Subnet"]["SubnetId"]

    def eni(self, subnet_id, addresses, prefixes=(), **extra):
        return self.ec2.create_network_interface(
            SubnetId=subnet_id,
            PrivateIpAddresses=[
                {"PrivateIpAddress": ip, "Primary": i == 0}
                for i, ip in enumerate(addresses)
            ],
            Ipv4Prefixes=[{"Ipv4Prefix": p} for p in prefixes],
            **extra,
        )["NetworkInterface"]["NetworkInterfaceId"]

    def enis_in(self, subnet_id):
        """{ENI id: ENI} of the subnet, through the subnet-id filter."""
        answer = self.ec2.describe_network_interfaces(
            Filters=[{"Name": "subnet-id", "Values": [subnet_id]}]
        )
        return {e["NetworkInterfaceId"]: e for e in answer["NetworkInterfaces"]}

    def assert_ec2_error(self, code, call, *args, **kwargs):
        with self.assertRaises(ClientError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.response["Error"]["Code"], code)

    def available(self, subnet_id):
        subnets = self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        return subnets[0]["AvailableIpAddressCount"]

    def test_fragmented_addresses_and_prefixes_read_back_exactly(self):
        subnet = self.subnet(0)
        other = self.subnet(1)
        # One address in every other /28, two prefixes between them, and an ENI
        # given more addresses and a prefix after it was made.
        scattered = [f"10.20.0.{16 * k + 5}" for k in (1, 3, 5, 7)]
        a = self.eni(subnet, scattered, Description="aws-K8S-i-0123456789abcdef0")
        b = self.eni(subnet, ["10.20.0.200"], ["10.20.0.32/28", "10.20.0.96/28"])
        self.ec2.assign_private_ip_addresses(
            NetworkInterfaceId=a,
            PrivateIpAddresses=["10.20.0.150"],
            Ipv4Prefixes=["10.20.0.208/28"],
        )
        self.eni(other, ["10.20.1.10"], ["10.20.1.16/28"])

        enis = self.enis_in(subnet)
        self.assertEqual(sorted(enis), sorted([a, b]))
        self.assertEqual(
            [x["PrivateIpAddress"] for x in enis[a]["PrivateIpAddresses"]],
            scattered + ["10.20.0.150"],
        )
        self.assertEqual(enis[a]["Ipv4Prefixes"], [{"Ipv4Prefix": "10.20.0.208/28"}])
        self.assertEqual(
            [x["PrivateIpAddress"] for x in enis[b]["PrivateIpAddresses"]],
            ["10.20.0.200"],
        )
        self.assertEqual(
            enis[b]["Ipv4Prefixes"],
            [{"Ipv4Prefix": "10.20.0.32/28"}, {"Ipv4Prefix": "10.20.0.96/28"}],
        )
        # 251 usable, less 6 addresses and 3 prefixes of 16.
        self.assertEqual(self.available(subnet), 251 - 6 - 48)

    def test_detached_and_attached_status_type_description(self):
        subnet = self.subnet(2)
        instance = self.ec2.run_instances(
            ImageId=IMAGE, MinCount=1, MaxCount=1, SubnetId=subnet,
            PrivateIpAddress="10.20.2.10",
        )["Instances"][0]["InstanceId"]
        attached = self.eni(subnet, ["10.20.2.20"], Description=f"aws-K8S-{instance}")
        self.ec2.attach_network_interface(
            NetworkInterfaceId=attached, InstanceId=instance, DeviceIndex=1
        )
        orphan = self.eni(subnet, ["10.20.2.30", "10.20.2.31"], ["10.20.2.48/28"],
                          Description="left behind")
        enis = self.enis_in(subnet)
        self.assertEqual(enis[attached]["Status"], "in-use")
        self.assertEqual(enis[attached]["Attachment"]["InstanceId"], instance)
        self.assertEqual(enis[attached]["Description"], f"aws-K8S-{instance}")
        self.assertEqual(enis[orphan]["Status"], "available")
        self.assertNotIn("Attachment", enis[orphan])
        self.assertEqual(enis[orphan]["Description"], "left behind")
        self.assertEqual(enis[orphan]["Ipv4Prefixes"], [{"Ipv4Prefix": "10.20.2.48/28"}])
        for eni in enis.values():
            self.assertEqual(eni["InterfaceType"], "interface")
            self.assertFalse(eni["RequesterManaged"])
        self.assertEqual(len(enis), 3)  # the instance's primary ENI too

    def test_reservations_explicit_and_prefix(self):
        subnet = self.subnet(3)
        for cidr, kind in (("10.20.3.64/28", "explicit"), ("10.20.3.128/26", "prefix")):
            self.ec2.create_subnet_cidr_reservation(
                SubnetId=subnet, Cidr=cidr, ReservationType=kind
            )
        answer = self.ec2.get_subnet_cidr_reservations(SubnetId=subnet)
        self.assertEqual(
            [(r["Cidr"], r["ReservationType"], r["SubnetId"])
             for r in answer["SubnetIpv4CidrReservations"]],
            [("10.20.3.64/28", "explicit", subnet), ("10.20.3.128/26", "prefix", subnet)],
        )
        self.assertEqual(answer["SubnetIpv6CidrReservations"], [])
        only = self.ec2.get_subnet_cidr_reservations(
            SubnetId=subnet,
            Filters=[{"Name": "reservationType", "Values": ["explicit"]}],
        )["SubnetIpv4CidrReservations"]
        self.assertEqual([r["Cidr"] for r in only], ["10.20.3.64/28"])

    def test_prefix_count_takes_prefix_reservations_first_and_skips_explicit(self):
        subnet = self.subnet(4)
        self.ec2.create_subnet_cidr_reservation(
            SubnetId=subnet, Cidr="10.20.4.16/28", ReservationType="explicit"
        )
        self.ec2.create_subnet_cidr_reservation(
            SubnetId=subnet, Cidr="10.20.4.192/28", ReservationType="prefix"
        )
        # 10.20.4.0/28 holds AWS's reserved addresses, .16/28 is explicit, .35
        # takes .32/28: after the prefix reservation the lowest free is .48/28.
        eni = self.eni(subnet, ["10.20.4.35"])
        answer = self.ec2.assign_private_ip_addresses(
            NetworkInterfaceId=eni, Ipv4PrefixCount=2
        )
        expected = [{"Ipv4Prefix": "10.20.4.192/28"}, {"Ipv4Prefix": "10.20.4.48/28"}]
        self.assertEqual(answer["AssignedIpv4Prefixes"], expected)
        self.assertEqual(self.enis_in(subnet)[eni]["Ipv4Prefixes"], expected)
        counted = self.ec2.create_network_interface(
            SubnetId=subnet, PrivateIpAddress="10.20.4.36", Ipv4PrefixCount=1
        )["NetworkInterface"]
        self.assertEqual(counted["Ipv4Prefixes"], [{"Ipv4Prefix": "10.20.4.64/28"}])

    def test_bad_prefixes_are_refused_and_create_nothing(self):
        subnet = self.subnet(5)
        self.eni(subnet, ["10.20.5.20"], ["10.20.5.32/28"])
        for bad in ("10.20.5.40/28", "10.20.5.32/27", "10.20.9.0/28",
                    "10.20.5.32/28", "10.20.5.16/28", "10.20.5.0/28"):
            self.assert_ec2_error(
                "InvalidParameterValue", self.eni, subnet, ["10.20.5.100"], [bad]
            )
        self.assertEqual(len(self.enis_in(subnet)), 1)
        # 14 /28s can ever be free in a /24; .16/28 and .32/28 are taken.
        self.assert_ec2_error(
            "InsufficientCidrBlocks",
            self.ec2.create_network_interface,
            SubnetId=subnet, PrivateIpAddress="10.20.5.100", Ipv4PrefixCount=13,
        )
        self.assertEqual(len(self.enis_in(subnet)), 1)

    def test_unassign_and_delete_free_prefixes(self):
        subnet = self.subnet(6)
        eni = self.eni(subnet, ["10.20.6.20"], ["10.20.6.32/28", "10.20.6.48/28"])
        self.ec2.unassign_private_ip_addresses(
            NetworkInterfaceId=eni, Ipv4Prefixes=["10.20.6.32/28"]
        )
        self.assertEqual(
            self.enis_in(subnet)[eni]["Ipv4Prefixes"], [{"Ipv4Prefix": "10.20.6.48/28"}]
        )
        self.assertEqual(self.available(subnet), 251 - 1 - 16)
        self.ec2.delete_network_interface(NetworkInterfaceId=eni)
        self.eni(subnet, ["10.20.6.100"], ["10.20.6.48/28"])  # free again

    def test_xml_names_the_rust_sdk_parses(self):
        subnet = self.subnet(7)
        eni = self.eni(subnet, ["10.20.7.20"], ["10.20.7.32/28"])
        body = f"Action=DescribeNetworkInterfaces&Version=2016-11-15&NetworkInterfaceId.1={eni}"
        headers = support.signed_headers(
            "POST", self.url + "/", body, "ec2", REGION,
            {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
        )
        status, _, xml = support.http("POST", self.url + "/", body.encode(), headers)
        self.assertEqual(status, 200)
        self.assertIn(
            b"<ipv4PrefixSet><item><ipv4Prefix>10.20.7.32/28</ipv4Prefix></item></ipv4PrefixSet>",
            xml,
        )
        self.assertIn(b"<status>available</status>", xml)
        self.assertIn(b"<interfaceType>interface</interfaceType>", xml)


if __name__ == "__main__":
    unittest.main()
