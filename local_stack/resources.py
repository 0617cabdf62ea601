"""Create the template's DynamoDB tables and S3 buckets in moto, exactly as declared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from local_stack.resolver import Resolver
from local_stack.template import Resource, load_template

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"

_INDEX_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput")
# CloudFormation spells a few CORS rule keys differently from the S3 API.
_CORS_KEYS = {
    "Id": "ID",
    "AllowedHeaders": "AllowedHeaders",
    "AllowedMethods": "AllowedMethods",
    "AllowedOrigins": "AllowedOrigins",
    "ExposedHeaders": "ExposeHeaders",
    "MaxAge": "MaxAgeSeconds",
}


def create_resources(
    template_path: str | Path,
    table_names: dict[str, str] | None = None,
    bucket_names: dict[str, str] | None = None,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> dict[str, str]:
    """Create each table and bucket of the template (under the name given for its logical id, else its
    local name) with boto3's default credentials, e.g. inside ``moto.mock_aws``. Returns id -> name."""
    import boto3

    region = region or boto3.session.Session().region_name or "us-east-1"
    resolver = Resolver(
        load_template(template_path), region, names={**(table_names or {}), **(bucket_names or {})}
    )
    dynamodb = boto3.client("dynamodb", region_name=region, endpoint_url=endpoint_url)
    s3 = boto3.client("s3", region_name=region, endpoint_url=endpoint_url)
    return create_all(resolver, dynamodb, s3)


def create_all(resolver: Resolver, dynamodb: Any, s3: Any) -> dict[str, str]:
    created = {}
    for table in resolver.template.of_type(TABLE):
        created[table.logical_id] = create_table(resolver, dynamodb, table)
    for bucket in resolver.template.of_type(BUCKET):
        created[bucket.logical_id] = create_bucket(resolver, s3, bucket)
    return created


def create_table(resolver: Resolver, dynamodb: Any, table: Resource) -> str:
    name = resolver.physical_name(table)
    props = {key: resolver.resolve_or(value) for key, value in table.properties.items()}
    dynamodb.create_table(**table_definition(name, props))
    ttl = props.get("TimeToLiveSpecification") or {}
    if _truthy(ttl.get("Enabled")) and ttl.get("AttributeName"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    return name


def table_definition(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation table properties -> DynamoDB ``CreateTable`` arguments."""
    billing = props.get("BillingMode") or "PROVISIONED"
    definition: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        definition["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            is_global = key == "GlobalSecondaryIndexes"
            definition[key] = [_index(index, billing, is_global) for index in props[key]]
    stream = props.get("StreamSpecification") or {}
    if stream.get("StreamViewType"):
        definition["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    return definition


def _index(index: dict[str, Any], billing: str, is_global: bool) -> dict[str, Any]:
    shaped = {key: index[key] for key in _INDEX_KEYS if key in index}
    if is_global and billing == "PROVISIONED":
        shaped["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return shaped


def _throughput(declared: dict[str, Any] | None) -> dict[str, int]:
    declared = declared or {}
    return {
        "ReadCapacityUnits": int(declared.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(declared.get("WriteCapacityUnits", 5)),
    }


def create_bucket(resolver: Resolver, s3: Any, bucket: Resource) -> str:
    name = resolver.physical_name(bucket)
    if resolver.region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": resolver.region})
    versioning = resolver.resolve_or(bucket.properties.get("VersioningConfiguration")) or {}
    if versioning.get("Status"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": versioning["Status"]})
    cors = resolver.resolve_or(bucket.properties.get("CorsConfiguration")) or {}
    if cors.get("CorsRules"):
        s3.put_bucket_cors(Bucket=name, CORSConfiguration=cors_configuration(cors))
    return name


def cors_configuration(cors: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation ``CorsConfiguration`` -> S3 ``PutBucketCors`` ``CORSConfiguration``."""
    rules = []
    for rule in cors["CorsRules"]:
        shaped = {_CORS_KEYS[key]: value for key, value in rule.items() if key in _CORS_KEYS}
        if "MaxAgeSeconds" in shaped:
            shaped["MaxAgeSeconds"] = int(shaped["MaxAgeSeconds"])
        rules.append(shaped)
    return {"CORSRules": rules}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
