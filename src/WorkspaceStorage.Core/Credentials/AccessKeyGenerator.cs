using System.Security.Cryptography;
using WorkspaceStorage.Core.Signing;

namespace WorkspaceStorage.Core.Credentials;

/// <summary>
/// Generates long-lived key pairs for workspace identities. The operator makes the key itself and
/// records it in the Secret before the backend learns it, so a crash between the two calls leaves
/// nothing the next reconcile cannot find.
/// </summary>
public static class AccessKeyGenerator
{
    private const string AccessKeyAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string SecretAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    /// <summary>A 20-character access key id (upper case and digits, as AWS's) and a 40-character secret.</summary>
    public static AwsCredentials Generate() =>
        new(RandomNumberGenerator.GetString(AccessKeyAlphabet, 20), RandomNumberGenerator.GetString(SecretAlphabet, 40));
}
