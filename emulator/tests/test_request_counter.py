"""Request counts per operation (GET /_emulator/requests), against a started emulator."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

# What the project's CloudWatch sink does with many metrics: at most 1000 a request.
METRICS_PER_REQUEST = 1000


class RequestCounterTest(support.EmulatorTestCase):
    def setUp(self):
        status, _ = self.control("POST", "/_emulator/requests/reset")
        self.assertEqual(status, 200)

    def test_starts_empty_and_control_calls_are_not_counted(self):
        self.assertEqual(self.request_counts(), {})
        support.http("GET", self.url + "/moto-api/config")
        self.control("GET", "/_emulator/ipam")
        self.assertEqual(self.request_counts(), {})

    def test_2500_metrics_in_3_put_metric_data_requests(self):
        metrics = [
            {
                "MetricName": "FreeAddresses",
                "Dimensions": [{"Name": "ResourceId", "Value": f"subnet-{i}"}],
                "Value": float(i),
                "Unit": "Count",
            }
            for i in range(2500)
        ]
        for start in range(0, len(metrics), METRICS_PER_REQUEST):
            batch = metrics[start : start + METRICS_PER_REQUEST]
            answer = support.cloudwatch_cbor(
                self.url,
                "PutMetricData",
                {"Namespace": "Test/Count", "MetricData": batch},
            )
            self.assertEqual(answer.status, 200, answer.body)
        self.assertEqual(self.request_counts(), {"cloudwatch:PutMetricData": 3})

    def test_every_protocol_is_keyed_service_and_action(self):
        support.cloudwatch_cbor(self.url, "ListMetrics", {})  # RPC v2 CBOR path
        self.client("cloudwatch").list_metrics()  # boto3 picks awsJson1_0: X-Amz-Target
        self.client("ec2").describe_vpcs()  # EC2 query: Action=DescribeVpcs
        self.client("ec2").describe_ipams()  # answered by the IPAM fixture
        self.client("sns").list_topics()  # query protocol
        self.client("sts").get_caller_identity()
        self.client("lambda").list_functions()  # REST: matched by moto's router
        self.assertEqual(
            self.request_counts(),
            {
                "cloudwatch:ListMetrics": 2,
                "ec2:DescribeVpcs": 1,
                "ec2:DescribeIpams": 1,
                "sns:ListTopics": 1,
                "sts:GetCallerIdentity": 1,
                "lambda:ListFunctions": 1,
            },
        )

    def test_failed_requests_count_too(self):
        answer = support.cloudwatch_cbor(self.url, "PutMetricData", {"MetricData": []})
        self.assertEqual(answer.status, 400)
        self.assertEqual(self.request_counts(), {"cloudwatch:PutMetricData": 1})

    def test_reset_zeroes_and_moto_reset_clears_too(self):
        self.client("ec2").describe_vpcs()
        self.assertEqual(self.control("POST", "/_emulator/requests/reset"), (200, {}))
        self.assertEqual(self.request_counts(), {})
        self.client("ec2").describe_vpcs()
        support.http("POST", self.url + "/moto-api/reset")
        self.assertEqual(self.request_counts(), {})

    def test_wrong_methods_and_paths(self):
        self.assertEqual(self.control("GET", "/_emulator/requests/reset")[0], 405)
        self.assertEqual(self.control("POST", "/_emulator/requests")[0], 405)
        self.assertEqual(self.control("GET", "/_emulator/nothing-here")[0], 404)


if __name__ == "__main__":
    unittest.main()
