"""Turn on moto's IAM enforcement with a user whose policy denies one
action. Usage: moto_deny.py ENDPOINT_URL ACTION. Prints the user's keys.
Every later request to this server is authorised against IAM policies."""

import json
import sys
import urllib.request

import boto3

endpoint, action = sys.argv[1], sys.argv[2]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="doctor")
iam.put_user_policy(UserName="doctor", PolicyName="read-all-but-one", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": action, "Resource": "*"},
    ]}))
key = iam.create_access_key(UserName="doctor")["AccessKey"]
# From now on, every request is authenticated and authorised.
urllib.request.urlopen(urllib.request.Request(
    f"{endpoint}/moto-api/reset-auth", data=b"0", method="POST", headers={"Content-Type": "text/plain"}))
print(json.dumps({"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
