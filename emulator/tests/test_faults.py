"""Requests failed on purpose (POST /_emulator/faults), against a started emulator."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

DATUM = {"MetricName": "M", "Value": 1.0, "Unit": "Count"}


class FaultsTest(support.EmulatorTestCase):
    def setUp(self):
        self.assertEqual(self.control("POST", "/_emulator/faults/reset")[0], 200)

    def put(self):
        return support.cloudwatch_cbor(
            self.url, "PutMetricData", {"Namespace": "Test/Faults", "MetricData": [DATUM]}
        )

    def test_the_chosen_requests_fail_in_the_protocol_the_sdk_reads(self):
        status, _ = self.control(
            "POST",
            "/_emulator/faults",
            {"operation": "cloudwatch:PutMetricData", "from": 2, "count": 2,
             "status": 400, "code": "Throttling", "message": "Rate exceeded"},
        )
        self.assertEqual(status, 200)
        answers = [self.put() for _ in range(4)]
        self.assertEqual([a.status for a in answers], [200, 400, 400, 200])
        failed = answers[1]
        self.assertEqual(failed.headers["x-amzn-query-error"], "Throttling;Sender")
        self.assertEqual(failed.body["message"], "Rate exceeded")
        _, listed = self.control("GET", "/_emulator/faults")
        self.assertEqual(
            (listed["faults"][0]["seen"], listed["faults"][0]["failed"]), (4, 2)
        )

    def test_query_protocol_services_get_xml_and_other_operations_are_untouched(self):
        self.control(
            "POST",
            "/_emulator/faults",
            # Two: boto3's legacy retries try a 500 once more.
            {"operation": "sns:ListTopics", "count": 2, "status": 500, "code": "InternalError"},
        )
        sns = self.client("sns")
        with self.assertRaises(Exception) as raised:
            sns.list_topics()
        self.assertIn("InternalError", str(raised.exception))
        sns.list_topics()  # only the first two requests were chosen
        self.assertEqual(self.put().status, 200)

    def test_a_bad_fault_is_refused(self):
        status, answer = self.control("POST", "/_emulator/faults", {"operation": "x"})
        self.assertEqual(status, 400)
        self.assertIn("operation", answer["error"])


if __name__ == "__main__":
    unittest.main()
