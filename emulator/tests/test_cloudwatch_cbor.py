"""CloudWatch over Smithy RPC v2 CBOR, against a started emulator.

Requests are built byte for byte as aws-sdk-cloudwatch 1.x builds them
(support.rust_cbor); answers are checked for what its decoder needs.
"""

import datetime
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import support  # noqa: E402

UTC = datetime.timezone.utc
NAMESPACE_ERROR = "com.amazonaws.cloudwatch#"


def now():
    # Whole seconds: moto keeps datapoint timestamps at second precision.
    return datetime.datetime.now(UTC).replace(microsecond=0)


def metric_query(query_id, namespace, name, stat, dimensions=()):
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": namespace,
                "MetricName": name,
                "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
            },
            "Period": 60,
            "Stat": stat,
        },
    }


class CloudWatchCborTest(support.EmulatorTestCase):
    def call(self, operation, params, **kwargs):
        return support.cloudwatch_cbor(self.url, operation, params, **kwargs)

    def put(self, namespace, data, **kwargs):
        answer = self.call(
            "PutMetricData", {"Namespace": namespace, "MetricData": data}, **kwargs
        )
        self.assertEqual(answer.status, 200, answer.body)
        return answer

    def get(self, queries, start, end, region="us-east-1"):
        answer = self.call(
            "GetMetricData",
            {"MetricDataQueries": queries, "StartTime": start, "EndTime": end},
            region=region,
        )
        self.assertEqual(answer.status, 200, answer.body)
        return {r["Id"]: r for r in answer.body["MetricDataResults"]}

    def test_answers_carry_the_rpcv2cbor_headers(self):
        answer = self.put("Test/Headers", [{"MetricName": "m", "Value": 1.0}])
        self.assertEqual(answer.headers["smithy-protocol"], "rpc-v2-cbor")
        self.assertEqual(answer.headers["content-type"], "application/cbor")
        self.assertIn("x-amzn-requestid", answer.headers)
        self.assertEqual(answer.body, {})

    def test_put_then_get_metric_data(self):
        at = now()
        dims = [("ResourceType", "subnet"), ("ResourceId", "subnet-1")]
        self.put(
            "Test/Get",
            [
                {
                    "MetricName": "UtilizationPercent",
                    "Dimensions": [{"Name": n, "Value": v} for n, v in dims],
                    "Timestamp": at,
                    "Value": 95.5,
                    "Unit": "Percent",
                    "StorageResolution": 60,
                },
                {
                    "MetricName": "UsedAddresses",
                    "Timestamp": at,
                    "Values": [10.0, 20.0],
                    "Counts": [3.0, 1.0],
                    "Unit": "Count",
                },
            ],
        )
        results = self.get(
            [
                metric_query("util", "Test/Get", "UtilizationPercent", "Average", dims),
                metric_query("used", "Test/Get", "UsedAddresses", "Sum"),
            ],
            at - datetime.timedelta(minutes=5),
            at + datetime.timedelta(minutes=5),
        )
        self.assertEqual(results["util"]["Values"], [95.5])
        self.assertEqual(results["util"]["StatusCode"], "Complete")
        self.assertEqual(results["util"]["Label"], "UtilizationPercent Average")
        self.assertEqual(results["util"]["Timestamps"], [at])
        self.assertEqual(results["used"]["Values"], [50.0])  # 10*3 + 20*1

    def test_answer_types_are_what_the_rust_decoder_accepts(self):
        at = now()
        self.put("Test/Types", [{"MetricName": "m", "Timestamp": at, "Value": 7.0}])
        answer = self.call(
            "GetMetricData",
            {
                "MetricDataQueries": [metric_query("q", "Test/Types", "m", "Sum")],
                "StartTime": at - datetime.timedelta(minutes=5),
                "EndTime": at + datetime.timedelta(minutes=5),
            },
        )
        result = answer.body["MetricDataResults"][0]
        # A double must be a CBOR float even when whole (the decoder takes no int).
        self.assertIs(type(result["Values"][0]), float)
        self.assertIsInstance(result["Timestamps"][0], datetime.datetime)
        self.assertIn(b"\xc1", answer.raw)  # tag 1: epoch-seconds timestamp

    def test_list_metrics_filters_and_lists_each_metric_once(self):
        data = [
            {"MetricName": "ScopeErrors", "Value": 0.0},
            {"MetricName": "ScopeErrors", "Value": 1.0},
            {
                "MetricName": "Free",
                "Value": 5.0,
                "Dimensions": [{"Name": "ResourceId", "Value": "a"}],
            },
            {
                "MetricName": "Free",
                "Value": 6.0,
                "Dimensions": [{"Name": "ResourceId", "Value": "b"}],
            },
        ]
        self.put("Test/List", data)

        def names(params):
            answer = self.call("ListMetrics", {"Namespace": "Test/List", **params})
            self.assertEqual(answer.status, 200, answer.body)
            return sorted(
                (m["MetricName"], tuple(d["Value"] for d in m.get("Dimensions", [])))
                for m in answer.body["Metrics"]
            )

        self.assertEqual(
            names({}), [("Free", ("a",)), ("Free", ("b",)), ("ScopeErrors", ())]
        )
        self.assertEqual(
            names({"MetricName": "Free"}), [("Free", ("a",)), ("Free", ("b",))]
        )
        self.assertEqual(
            names({"Dimensions": [{"Name": "ResourceId", "Value": "b"}]}),
            [("Free", ("b",))],
        )

    def test_metrics_stay_in_their_region(self):
        at = now()
        self.put(
            "Test/Region",
            [{"MetricName": "m", "Value": 1.0, "Timestamp": at}],
            region="eu-west-1",
        )
        window = (
            at - datetime.timedelta(minutes=5),
            at + datetime.timedelta(minutes=5),
        )
        query = [metric_query("q", "Test/Region", "m", "Sum")]
        self.assertEqual(
            self.get(query, *window, region="eu-west-1")["q"]["Values"], [1.0]
        )
        self.assertEqual(
            self.get(query, *window, region="us-east-1")["q"]["Values"], []
        )

    def test_gzip_bodies_are_accepted(self):
        data = [{"MetricName": f"m{i}", "Value": float(i)} for i in range(300)]
        answer = self.put("Test/Gzip", data, compress=True)
        self.assertEqual(answer.status, 200)

    def assert_error(self, answer, status, shape, query_code):
        self.assertEqual(answer.status, status, answer.body)
        self.assertEqual(answer.body["__type"], NAMESPACE_ERROR + shape)
        self.assertTrue(answer.body["message"])
        self.assertEqual(answer.headers["x-amzn-query-error"], f"{query_code};Sender")
        self.assertEqual(answer.headers["smithy-protocol"], "rpc-v2-cbor")
        self.assertEqual(answer.headers["content-type"], "application/cbor")

    def test_nan_and_infinity_are_refused(self):
        for bad in (float("nan"), float("inf")):
            answer = self.call(
                "PutMetricData",
                {
                    "Namespace": "Test/Bad",
                    "MetricData": [{"MetricName": "m", "Value": bad}],
                },
            )
            self.assert_error(
                answer, 400, "InvalidParameterValueException", "InvalidParameterValue"
            )

    def test_more_than_1000_metrics_are_refused(self):
        data = [{"MetricName": f"m{i}", "Value": 1.0} for i in range(1001)]
        answer = self.call(
            "PutMetricData", {"Namespace": "Test/Big", "MetricData": data}
        )
        self.assert_error(
            answer, 400, "InvalidParameterValueException", "InvalidParameterValue"
        )
        self.assertIn("1000", answer.body["message"])

    def test_more_than_30_dimensions_are_refused(self):
        dims = [{"Name": f"d{i}", "Value": "x"} for i in range(31)]
        data = [{"MetricName": "m", "Value": 1.0, "Dimensions": dims}]
        answer = self.call(
            "PutMetricData", {"Namespace": "Test/Dims", "MetricData": data}
        )
        self.assert_error(
            answer, 400, "InvalidParameterValueException", "InvalidParameterValue"
        )

    def test_missing_required_members_are_refused(self):
        answer = self.call(
            "PutMetricData", {"MetricData": [{"MetricName": "m", "Value": 1.0}]}
        )
        self.assert_error(
            answer, 400, "MissingRequiredParameterException", "MissingParameter"
        )
        self.assertEqual(answer.body["message"], "The parameter Namespace is required.")
        answer = self.call(
            "PutMetricData", {"Namespace": "N", "MetricData": [{"Value": 1.0}]}
        )
        self.assertIn("MetricData.member.1.MetricName", answer.body["message"])

    def test_moto_errors_keep_their_modeled_shape_and_status(self):
        answer = self.call("GetDashboard", {"DashboardName": "no-such-dashboard"})
        self.assert_error(answer, 404, "ResourceNotFound", "ResourceNotFound")

    def test_botocore_cbor_client_round_trip(self):
        """botocore's own rpcv2Cbor client agrees, typed errors included."""
        client = support.botocore_cbor_client(self.url)
        at = now()
        client.put_metric_data(
            Namespace="Test/Botocore",
            MetricData=[{"MetricName": "m", "Value": 3.0, "Timestamp": at}],
        )
        result = client.get_metric_data(
            StartTime=at - datetime.timedelta(minutes=5),
            EndTime=at + datetime.timedelta(minutes=5),
            MetricDataQueries=[metric_query("q", "Test/Botocore", "m", "Sum")],
        )["MetricDataResults"][0]
        self.assertEqual(result["Values"], [3.0])
        self.assertEqual(result["Timestamps"], [at])
        with self.assertRaises(client.exceptions.InvalidParameterValueException):
            client.put_metric_data(
                Namespace="Test/Botocore",
                MetricData=[{"MetricName": "m", "Value": float("inf")}],
            )

    def test_unknown_operation(self):
        answer = self.call("NoSuchOperation", {})
        self.assertEqual(answer.status, 404)
        self.assertEqual(answer.body["__type"], "UnknownOperationException")


if __name__ == "__main__":
    unittest.main()
