"""Tables and buckets created exactly as the template declares them (moto in-process, no network)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_stack.resources import cors_configuration, create_resources, table_definition

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
Parameters:
  Origins: {Type: CommaDelimitedList, Default: "https://a.example,https://b.example"}
Resources:
  Provisioned:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: fixed-name
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
        - {AttributeName: sk, AttributeType: S}
        - {AttributeName: lsk, AttributeType: N}
      KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
      ProvisionedThroughput: {ReadCapacityUnits: 2, WriteCapacityUnits: 3}
      LocalSecondaryIndexes:
        - IndexName: by-lsk
          KeySchema: [{AttributeName: pk, KeyType: HASH}, {AttributeName: lsk, KeyType: RANGE}]
          Projection: {ProjectionType: KEYS_ONLY}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Files:
    Type: AWS::S3::Bucket
    Properties:
      CorsConfiguration:
        CorsRules:
          - AllowedMethods: [GET, PUT]
            AllowedOrigins: !Ref Origins
            ExposedHeaders: [ETag]
            MaxAge: "3000"
"""


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_local_stack_resources_repo_template_table_and_bucket(aws: None) -> None:
    created = create_resources(
        ROOT / "template.yaml", table_names={"Table": "t1"}, bucket_names={"Bucket": "bucket-one"}
    )

    assert created == {"Table": "t1", "Bucket": "bucket-one"}
    dynamodb, s3 = boto3.client("dynamodb"), boto3.client("s3")
    table = dynamodb.describe_table(TableName="t1")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {index["IndexName"] for index in table.get("GlobalSecondaryIndexes", [])} == {
        "gsi1",
        "gsi2",
        "slots",
    }
    ttl = dynamodb.describe_time_to_live(TableName="t1")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at_epoch"}
    assert s3.get_bucket_versioning(Bucket="bucket-one")["Status"] == "Enabled"
    assert s3.get_bucket_cors(Bucket="bucket-one")["CORSRules"][0]["AllowedMethods"] == ["GET", "PUT", "HEAD"]


def test_local_stack_resources_local_names_and_declared_details(aws: None, tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(TEMPLATE)

    created = create_resources(template)

    assert created == {"Provisioned": "fixed-name", "Files": "files-local"}
    table: dict[str, Any] = boto3.client("dynamodb").describe_table(TableName="fixed-name")["Table"]
    assert table["ProvisionedThroughput"]["WriteCapacityUnits"] == 3
    assert table["LocalSecondaryIndexes"][0]["IndexName"] == "by-lsk"
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    rules = boto3.client("s3").get_bucket_cors(Bucket="files-local")["CORSRules"]
    assert rules[0]["AllowedOrigins"] == ["https://a.example", "https://b.example"]
    assert rules[0]["ExposeHeaders"] == ["ETag"]
    assert rules[0]["MaxAgeSeconds"] == 3000


def test_local_stack_resources_table_definition_defaults_to_provisioned() -> None:
    definition = table_definition(
        "t",
        {
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "GlobalSecondaryIndexes": [
                {"IndexName": "g", "KeySchema": [], "Projection": {}, "ContributorInsightsSpecification": {}}
            ],
        },
    )

    assert definition["BillingMode"] == "PROVISIONED"
    assert definition["ProvisionedThroughput"] == {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    assert definition["GlobalSecondaryIndexes"][0] == {
        "IndexName": "g",
        "KeySchema": [],
        "Projection": {},
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
    }


def test_local_stack_resources_cors_keys_follow_the_s3_api() -> None:
    cors = cors_configuration(
        {"CorsRules": [{"Id": "r", "ExposedHeaders": ["ETag"], "MaxAge": 5, "Unknown": 1}]}
    )

    assert cors == {"CORSRules": [{"ID": "r", "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 5}]}
