using System.Security.Cryptography;
using System.Text;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio.Clients;

/// <summary>
/// What our client must share with every madmin-go the tests can build (2.0.7 from bookworm, 3.x from trixie): the
/// payload cipher in both directions, and the wire form of each admin operation.
/// </summary>
public abstract class MadminOracleContract
{
    private const string AdminSecret = AdminRequestComparison.AdminSecret;

    internal abstract GoOracleBinary Oracle { get; }

    /// <summary>What a MinIO server of this client's time answers to <paramref name="request"/>.</summary>
    internal abstract ScriptedResponse Answer(RecordedRequest request);

    /// <summary>Query entries our client sends that this madmin-go does not, with the reason (empty when there is none).</summary>
    internal virtual IReadOnlyList<KeyValuePair<string, string>> ExtraQueryOfOurs(string operation) => [];

    [Fact]
    public async Task Payload_encrypted_in_csharp_decrypts_in_madmin()
    {
        var plaintext = Encoding.UTF8.GetBytes("""{"status":"enabled","secretKey":"abc-123"}""");

        var decrypted = await Oracle.RunAsync(MinioPayloadCipher.Encrypt(AdminSecret, plaintext), "decrypt", AdminSecret);

        Assert.Equal(plaintext, decrypted);
    }

    [Fact]
    public async Task Payload_encrypted_by_madmin_decrypts_in_csharp()
    {
        var plaintext = Encoding.UTF8.GetBytes("""{"accounts":["AK1","AK2"]}""");

        var encrypted = await Oracle.RunAsync(plaintext, "encrypt", AdminSecret);

        // madmin picks id 0 (Argon2id + AES-GCM) on CPUs with AES instructions, id 1 (ChaCha20) otherwise.
        Assert.Contains(encrypted[32], new byte[] { MinioPayloadCipher.Argon2IdAesGcm, MinioPayloadCipher.Argon2IdChaCha20Poly1305 });
        Assert.Equal(plaintext, MinioPayloadCipher.Decrypt(AdminSecret, encrypted));
    }

    [Fact]
    public async Task Multi_fragment_payloads_cross_in_both_directions()
    {
        var plaintext = RandomNumberGenerator.GetBytes(40_000);

        Assert.Equal(plaintext, await Oracle.RunAsync(MinioPayloadCipher.Encrypt(AdminSecret, plaintext), "decrypt", AdminSecret));
        Assert.Equal(plaintext, MinioPayloadCipher.Decrypt(AdminSecret, await Oracle.RunAsync(plaintext, "encrypt", AdminSecret)));
    }

    [Fact]
    public async Task Madmin_refuses_a_payload_sealed_with_another_secret()
    {
        var sealedElsewhere = MinioPayloadCipher.Encrypt("another-secret", "{}"u8);

        Assert.NotEqual(0, await Oracle.ExitCodeAsync(sealedElsewhere, "decrypt", AdminSecret));
    }

    /// <summary>madmin performs <paramref name="operation"/>, then our client does; the two requests must match.</summary>
    internal async Task AssertRequestMatchesAsync(string operation, AdminOperationCase definition, string client)
    {
        var (theirs, ours) = await AdminOperationCases.RecordBothAsync(Oracle, definition, Answer, TestContext.Current.CancellationToken);

        var extra = ExtraQueryOfOurs(operation);
        foreach (var entry in extra)
        {
            Assert.Contains(entry, ours.Query);
        }

        var oursWithout = ours with { Query = [.. ours.Query.Where(q => !extra.Contains(q))] };
        AdminRequestComparison.AssertSame(theirs, oursWithout, client);
    }
}
