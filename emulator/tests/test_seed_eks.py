"""The demo seed's EKS example: what the emulator answers for it, and its free /28
counts recomputed by brute force (the Rust tests assert the seed's hand counts)."""

import ipaddress
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402
import seed  # noqa: E402  (support put emulator/ on sys.path)

PREFIX = 28


def occupied(network, enis, reservations):
    """Every address of `network` that is not free: AWS's five reserved ones,
    each ENI address, every address inside an ENI prefix or a reservation."""
    first, last = int(network.network_address), int(network.broadcast_address)
    used = {first, first + 1, first + 2, first + 3, last}
    for eni in enis:
        used |= {int(ipaddress.ip_address(a["PrivateIpAddress"])) for a in eni["PrivateIpAddresses"]}
        for prefix in eni.get("Ipv4Prefixes", []):
            used |= {int(a) for a in ipaddress.ip_network(prefix["Ipv4Prefix"])}
    for reservation in reservations:
        used |= {int(a) for a in ipaddress.ip_network(reservation["Cidr"])}
    return used


def free_blocks(network, used, prefixlen):
    """The aligned blocks of `prefixlen` in `network` holding no used address."""
    return [
        block
        for block in network.subnets(new_prefix=prefixlen)
        if not any(int(a) in used for a in block)
    ]


class SeedEksTest(support.EmulatorTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # moto's state is per process: start from an empty one, then seed.
        support.http("POST", cls.url + "/moto-api/reset")
        cls.ids = seed.seed_demo(cls.url)[seed.EKS_REGION]

    def setUp(self):
        self.ec2 = self.client("ec2", seed.EKS_REGION)

    def subnet_view(self, name):
        """(network, ENIs, IPv4 reservations) of a seeded subnet, as the API answers."""
        subnet_id = self.ids[name]
        subnet = self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
        enis = self.ec2.describe_network_interfaces(
            Filters=[{"Name": "subnet-id", "Values": [subnet_id]}]
        )["NetworkInterfaces"]
        reservations = self.ec2.get_subnet_cidr_reservations(SubnetId=subnet_id)[
            "SubnetIpv4CidrReservations"
        ]
        return subnet, ipaddress.ip_network(subnet["CidrBlock"]), enis, reservations

    def test_free_28_counts_match_the_seed_comments(self):
        for name, expected in seed.EKS_FREE_28S.items():
            _, network, enis, reservations = self.subnet_view(name)
            used = occupied(network, enis, reservations)
            self.assertEqual(len(free_blocks(network, used, PREFIX)), expected, name)
            largest = min(
                length
                for length in range(network.prefixlen, PREFIX + 1)
                if free_blocks(network, used, length)
            )
            self.assertEqual(largest, seed.EKS_LARGEST_FREE_PREFIXLEN[name], name)

    def test_held_addresses_and_available_count(self):
        for name, held, available in (
            ("eks-nodes-a", 46, 205),
            ("eks-nodes-b", 34, 217),
        ):
            subnet, network, enis, _ = self.subnet_view(name)
            on_enis = sum(
                len(e["PrivateIpAddresses"]) + 16 * len(e.get("Ipv4Prefixes", []))
                for e in enis
            )
            self.assertEqual(on_enis, held, name)
            self.assertEqual(subnet["AvailableIpAddressCount"], available, name)
            spec = next(s for v in seed.DEMO_ESTATE["us-east-1"] for s in v.subnets if s.name == name)
            self.assertEqual(seed.held_addresses(spec), held, name)

    def test_subnets_are_tagged_for_the_cluster_in_two_zones(self):
        subnets = self.ec2.describe_subnets(
            Filters=[{"Name": "tag:kubernetes.io/cluster/demo-eks", "Values": ["shared"]}]
        )["Subnets"]
        self.assertEqual(
            sorted((s["CidrBlock"], s["AvailabilityZone"]) for s in subnets),
            [("10.4.0.0/24", "us-east-1a"), ("10.4.1.0/24", "us-east-1b")],
        )

    def test_cni_enis_name_their_node_and_one_is_detached(self):
        _, _, enis, _ = self.subnet_view("eks-nodes-a")
        node = self.ids["node-a"]
        cni = [e for e in enis if e["Description"] == f"aws-K8S-{node}"]
        self.assertEqual(len(cni), 3)
        detached = [e for e in cni if e["Status"] == "available"]
        self.assertEqual(len(detached), 1)
        self.assertNotIn("Attachment", detached[0])
        self.assertEqual(
            [a["PrivateIpAddress"] for a in detached[0]["PrivateIpAddresses"]],
            ["10.4.0.165", "10.4.0.170"],
        )
        for eni in cni:
            self.assertEqual(eni["InterfaceType"], "interface")
            if eni["Status"] == "in-use":
                self.assertEqual(eni["Attachment"]["InstanceId"], node)
        prefixes = sorted(p["Ipv4Prefix"] for e in cni for p in e.get("Ipv4Prefixes", []))
        self.assertEqual(prefixes, ["10.4.0.144/28", "10.4.0.64/28"])

    def test_explicit_reservation(self):
        _, _, _, reservations = self.subnet_view("eks-nodes-b")
        self.assertEqual(
            [(r["Cidr"], r["ReservationType"]) for r in reservations],
            [("10.4.1.192/27", "explicit")],
        )


if __name__ == "__main__":
    unittest.main()
