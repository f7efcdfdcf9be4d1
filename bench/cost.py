#!/usr/bin/env python3
"""What one verification costs in your AWS account, from the calls it really makes.

    python3 bench/cost.py [--counts bench/cost-counts.json] [--memory-mb 256]   (or: make cost)

The calls come from `bench/cost-counts.json`, written by the end-to-end test
`tests/api/cost_counts.rs`, which walks one verification through the real routers on metering
adapters (and fails when the committed counts drift). This script multiplies them by the unit
prices below and prints one table per flow:

  mrz                    a passport (or ID card) read by DetectDocumentText + its MRZ, 1 page
  analyze_id_two_pages   a driver licence, front and back: AnalyzeID on 2 pages
  test_mode              a sandbox session: no provider call, the same store, S3 and API traffic

Each flow is: the tenant creates the session, the browser opens it, uploads the document(s) (a
presigned PUT straight to S3, then confirm, which reads the document), completes liveness with a
face match against the document, fills personal details, and the tenant gets the webhooks and
reads the result. Standard library only.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRICES_DATE = "2026-12-02"
# us-east-1 on-demand list prices of the lowest-volume tier (no free tier), in USD, as published
# on each service's pricing page (aws.amazon.com/<service>/pricing). Transcribed on PRICES_DATE
# without a live check from this machine: check them for your region and volume before relying
# on them; higher volume tiers are cheaper.
PRICES = {
    "dynamodb_write_unit": 0.625 / 1e6,   # on-demand, per write request unit (Nov 2024 price)
    "dynamodb_read_unit": 0.125 / 1e6,    # on-demand, per read request unit
    "s3_put_request": 0.005 / 1000,       # PUT, COPY, POST, LIST (S3 Standard)
    "s3_get_request": 0.0004 / 1000,      # GET, HEAD and others
    "s3_storage_gb_month": 0.023,         # S3 Standard, first 50 TB
    "textract_detect_text_page": 0.0015,  # DetectDocumentText, first 1M pages/month
    "textract_analyze_id_page": 0.025,    # AnalyzeID, first 100k pages/month
    "rekognition_liveness_check": 0.015,  # Face Liveness, first 500k checks/month
    "rekognition_image_call": 0.001,      # CompareFaces (Image API group 1), first 1M images
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_request": 0.20 / 1e6,
    "api_gateway_http_request": 1.00 / 1e6,  # HTTP API, first 300M/month, per 512 KB
    "sqs_request": 0.40 / 1e6,            # standard queue, per 64 KB chunk
    "cloudwatch_logs_ingest_gb": 0.50,
}
HOSTED = "hosted per-verification list prices: Stripe Identity $1.50, Sumsub Basic $1.35, Veriff Essential $0.80"

# What the counts cannot see, stated once:
ASSUMPTIONS = {
    # Billed Lambda time of one API request besides its provider calls: routing, JSON and its
    # store round trips (warm; measured ≈ 1–3 ms of CPU per request on the dev server, plus
    # DynamoDB's ≈ 5 ms and S3's ≈ 15–25 ms per round trip inside a region).
    "request_base_ms": 5,
    "dynamodb_round_trip_ms": 6,
    "s3_request_ms": 20,
    # Provider latency the function waits for (it is billed while waiting).
    "detect_text_ms": 1500,
    "analyze_id_ms": 3000,
    "rekognition_call_ms": 400,
    # Webhooks: one fan-out invocation per outbox event (DynamoDB stream; polling is free) and one
    # delivery invocation per attempt (SQS: send, receive, delete), ≈ 150 ms with the tenant's HTTPS.
    "webhook_invocation_ms": 150,
    "sqs_requests_per_delivery": 3,
    # Cold starts: one per this many requests (Lambda bills the init phase too).
    "requests_per_cold_start": 50,
    "cold_start_ms": 60,
    # Log lines: ≈ 600 bytes per request (the access line and EMF metrics).
    "log_bytes_per_request": 600,
    # Documents and the liveness reference image are kept for the retention period. The counts'
    # test uploads a 1 kB specimen PDF; a phone photo or scan of an ID page is nearer 1.5 MB.
    "retention_months": 12,
    "document_bytes": 1_500_000,
    "liveness_reference_image_bytes": 60_000,
}


def price_flow(name: str, flow: dict, memory_mb: int) -> list:
    """Lines of (service, what, USD) for one flow."""
    a, p = ASSUMPTIONS, PRICES
    lines = []
    requests = sum(flow["api_requests"].values())
    live = flow["live_extractions"]
    detect_pages = live if name == "mrz" else 0
    analyze_pages = live if name != "mrz" else 0
    rekognition = flow["rekognition"]
    liveness_checks = rekognition.get("CreateFaceLivenessSession", 0)
    image_calls = rekognition.get("CompareFaces", 0)
    dynamo, s3 = flow["dynamodb"], flow["s3"]
    dynamo_trips = sum(dynamo["requests"].values())
    # The functions' own S3 requests (the browser's presigned PUTs bill no Lambda time).
    s3_trips = s3["put_requests"] + s3["get_requests"] + s3["delete_requests"] - s3["browser_puts"]

    lines.append(("API Gateway", f"{requests} HTTP API requests", requests * p["api_gateway_http_request"]))
    lines.append(("DynamoDB", f"{dynamo['write_units']} WRU, {dynamo['read_units']:g} RRU "
                  f"({dynamo_trips} requests)",
                  dynamo["write_units"] * p["dynamodb_write_unit"] + dynamo["read_units"] * p["dynamodb_read_unit"]))
    # Providers read and write the bucket with the caller's credentials: Textract GETs each page,
    # Face Liveness PUTs its reference image, CompareFaces GETs both images.
    puts = s3["put_requests"] + liveness_checks
    gets = s3["get_requests"] + live + 2 * image_calls
    lines.append(("S3 requests", f"{puts} PUT/COPY, {gets} GET/HEAD (providers' included)",
                  puts * p["s3_put_request"] + gets * p["s3_get_request"]))
    stored_gb = (documents_kept_bytes(flow) + liveness_checks * a["liveness_reference_image_bytes"]) / 1e9
    lines.append(("S3 storage", f"{stored_gb * 1e3:.2f} MB for {a['retention_months']} months",
                  stored_gb * a["retention_months"] * p["s3_storage_gb_month"]))
    if detect_pages:
        lines.append(("Textract", f"DetectDocumentText × {detect_pages} page", detect_pages * p["textract_detect_text_page"]))
    if analyze_pages:
        lines.append(("Textract", f"AnalyzeID × {analyze_pages} pages", analyze_pages * p["textract_analyze_id_page"]))
    if liveness_checks:
        lines.append(("Rekognition", f"Face Liveness × {liveness_checks}", liveness_checks * p["rekognition_liveness_check"]))
    if image_calls:
        lines.append(("Rekognition", f"CompareFaces × {image_calls}", image_calls * p["rekognition_image_call"]))

    provider_ms = (detect_pages * a["detect_text_ms"] + analyze_pages * a["analyze_id_ms"]
                   + sum(rekognition.values()) * a["rekognition_call_ms"])
    api_ms = (requests * a["request_base_ms"] + dynamo_trips * a["dynamodb_round_trip_ms"]
              + s3_trips * a["s3_request_ms"] + provider_ms + requests / a["requests_per_cold_start"] * a["cold_start_ms"])
    webhook_invocations = flow["webhook_events"] + flow["webhook_deliveries"]
    total_ms = api_ms + webhook_invocations * a["webhook_invocation_ms"]
    gb_s = total_ms / 1000 * memory_mb / 1024
    invocations = requests + webhook_invocations
    lines.append(("Lambda", f"{invocations} invocations, {total_ms / 1000:.2f} s at {memory_mb} MB = {gb_s:.3f} GB-s",
                  gb_s * p["lambda_gb_second_arm64"] + invocations * p["lambda_request"]))
    sqs = flow["webhook_deliveries"] * a["sqs_requests_per_delivery"]
    lines.append(("SQS", f"{sqs} requests ({flow['webhook_deliveries']} webhook deliveries)", sqs * p["sqs_request"]))
    log_gb = (invocations * a["log_bytes_per_request"]) / 1e9
    lines.append(("CloudWatch Logs", f"{invocations * a['log_bytes_per_request'] / 1e3:.0f} kB", log_gb * p["cloudwatch_logs_ingest_gb"]))
    return lines


def documents_kept_bytes(flow: dict) -> int:
    """Bytes the flow leaves in the bucket: each presigned upload is copied to its confirmed key
    and the pending object deleted, so one document of the assumed size stays per upload."""
    return flow["s3"]["browser_puts"] * ASSUMPTIONS["document_bytes"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default=str(ROOT / "bench/cost-counts.json"))
    parser.add_argument("--memory-mb", type=int, default=256, help="the functions' MemorySize (default 256)")
    args = parser.parse_args()
    counts = json.loads(Path(args.counts).read_text())
    titles = {
        "mrz": "(a) MRZ route: DetectDocumentText, 1 page",
        "analyze_id_two_pages": "(b) AnalyzeID, 2 pages",
        "test_mode": "(c) test mode (sandbox providers)",
    }
    totals = {}
    for name, title in titles.items():
        lines = price_flow(name, counts["flows"][name], args.memory_mb)
        total = sum(line[2] for line in lines)
        totals[name] = total
        print(f"\n{title}: ${total:.4f} per verification")
        print("| service | calls | USD |")
        print("|---|---|---:|")
        for service, what, usd in lines:
            print(f"| {service} | {what} | {usd:.6f} |")
    print(f"\nper verification (us-east-1 list prices of {PRICES_DATE}, {args.memory_mb} MB arm64 functions):")
    print("| flow | USD | goal |")
    print("|---|---:|---:|")
    goals = {"mrz": 0.03, "analyze_id_two_pages": 0.07, "test_mode": None}
    for name, title in titles.items():
        goal = goals[name]
        print(f"| {title} | {totals[name]:.4f} | {'≤ %.2f' % goal if goal else '–'} |")
    print(f"\nfor comparison, {HOSTED}: "
          f"{1.50 / totals['mrz']:.0f}× / {1.50 / totals['analyze_id_two_pages']:.0f}× the (a) / (b) cost at $1.50.")
    missed = [name for name, goal in goals.items() if goal and totals[name] > goal]
    if missed:
        sys.exit(f"over the goal: {', '.join(missed)}")


if __name__ == "__main__":
    main()
