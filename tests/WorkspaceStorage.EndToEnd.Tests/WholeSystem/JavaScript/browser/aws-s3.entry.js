// What the page needs of the AWS SDK for JavaScript v3, bundled by esbuild into one browser script (global AwsS3).
export { S3Client, PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
