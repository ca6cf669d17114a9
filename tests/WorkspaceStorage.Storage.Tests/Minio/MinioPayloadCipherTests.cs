using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using WorkspaceStorage.Storage.Minio;

namespace WorkspaceStorage.Storage.Tests.Minio;

/// <summary>The madmin payload format, checked against every vector in the reference (madmin-go's own and fixed-input ones).</summary>
public sealed class MinioPayloadCipherTests(ITestOutputHelper output)
{
    private const string FixedPassword = "minioadmin";
    private const string FixedPlaintext = "{\"status\":\"enabled\",\"secretKey\":\"secret123\"}";
    private static readonly byte[] FixedSalt = [.. Enumerable.Range(0, 32).Select(i => (byte)i)];
    private static readonly byte[] FixedNonce = Convert.FromHexString("a0a1a2a3a4a5a6a7");

    [Fact]
    public void Decrypts_madmin_vector_with_empty_password_to_empty_plaintext()
    {
        var data = Convert.FromHexString("828aa81599df0651c0461adb82283e8b89956baee9f6e719947ef9cddc849028001dc9d3ac0938f66b07bacc9751437e1985f8a9763c240e81");

        Assert.Empty(MinioPayloadCipher.Decrypt("", data));
        Assert.Equal("5561ddb170ed8de32f914a90ee5b78416a5e72fe87d068ece1b481a6e2cce8d3",
            Convert.ToHexStringLower(MinioPayloadCipher.DeriveKey("", data.AsSpan(0, 32), 0)));
    }

    [Fact]
    public void Decrypts_madmin_vector_with_punctuated_password_to_32_zero_bytes()
    {
        var data = Convert.FromHexString("b5c016e93b84b473fc8a37af94936563630c36d6df1841d23a86ee51ca161f9e00ac19116b32f643ff6a56a212b265d8c56195bb0d12ce199e13dfdc5272f80c1564da2c6fc2fa18da91d8062de02af5cdafea491c6f3cae1f");
        const string password = "xPl.8/rhR\"Q_1xLt";

        Assert.Equal(new byte[32], MinioPayloadCipher.Decrypt(password, data));
        Assert.Equal("b7cc749ee036a40c47c16a1087a4c776a9d5ecaf328f8726bc7c547c9fc8fd35",
            Convert.ToHexStringLower(MinioPayloadCipher.DeriveKey(password, data.AsSpan(0, 32), 0)));
    }

    [Theory]
    [InlineData(MinioPayloadCipher.Argon2IdAesGcm, "1395e897b43ff97fb6173a7e1b279ef24257e166522d6f87553e7e91582ab78a40dce2d524d347ffdf778ff121956649d386441d30e7875a6058b111")]
    [InlineData(MinioPayloadCipher.Argon2IdChaCha20Poly1305, "19520aeb7c32e0ad7184606bf11eae2f91a66d6ee6b60f982c119a85cad5caa8fde45d0e06ed8bec59327b85c624d8b1801339b8588b5fee042b26e3")]
    [InlineData(MinioPayloadCipher.Pbkdf2AesGcm, "4a7231137349accb7349c770e85176da9ac58cf4e6dcbd155f3bca5ebf70a02fdf5f6ca042241480cd1570933d694ced48b69c62cffd8a67c710a42c")]
    public void Fixed_input_vectors_encrypt_and_decrypt_for_every_algorithm_id(byte id, string expectedBodyHex)
    {
        var encrypted = MinioPayloadCipher.Encrypt(FixedPassword, Encoding.UTF8.GetBytes(FixedPlaintext), FixedSalt, FixedNonce, id);

        Assert.Equal(FixedSalt, encrypted[..32]);
        Assert.Equal(id, encrypted[32]);
        Assert.Equal(FixedNonce, encrypted[33..41]);
        Assert.Equal(expectedBodyHex, Convert.ToHexStringLower(encrypted[41..]));

        var published = FixedSalt.Concat([id]).Concat(FixedNonce).Concat(Convert.FromHexString(expectedBodyHex)).ToArray();
        Assert.Equal(FixedPlaintext, Encoding.UTF8.GetString(MinioPayloadCipher.Decrypt(FixedPassword, published)));
    }

    [Fact]
    public void Fixed_input_derived_keys_match_for_argon2id_and_pbkdf2()
    {
        Assert.Equal("143045b4e26f71193dd2f2f806438d47b4dfaa02357d625170ce6761570ab62b",
            Convert.ToHexStringLower(MinioPayloadCipher.DeriveKey(FixedPassword, FixedSalt, MinioPayloadCipher.Argon2IdAesGcm)));
        Assert.Equal("d91935347c5209c45d5649877ec300f8cb54cc6c49265db10b91ba98beead02d",
            Convert.ToHexStringLower(MinioPayloadCipher.DeriveKey(FixedPassword, FixedSalt, MinioPayloadCipher.Pbkdf2AesGcm)));
    }

    [Fact]
    public void Plaintext_longer_than_one_fragment_matches_the_reference_length_and_digest()
    {
        var plaintext = Enumerable.Repeat((byte)'a', 16_385).ToArray();

        var encrypted = MinioPayloadCipher.Encrypt(FixedPassword, plaintext, FixedSalt, FixedNonce, MinioPayloadCipher.Argon2IdAesGcm);

        Assert.Equal(16_458, encrypted.Length);
        Assert.Equal(16_458, MinioPayloadCipher.EncryptedLength(plaintext.Length));
        Assert.Equal("bec5b94f3d2d30dc3f38d1c1731815a2ca9e36487cfcfe5c2679bbdb3679b97a", Convert.ToHexStringLower(SHA256.HashData(encrypted)));
        Assert.Equal(plaintext, MinioPayloadCipher.Decrypt(FixedPassword, encrypted));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16_384)]
    [InlineData(32_768)]
    [InlineData(40_000)]
    public void Round_trips_at_fragment_boundaries(int length)
    {
        var plaintext = RandomNumberGenerator.GetBytes(length);

        var encrypted = MinioPayloadCipher.Encrypt("s3cr3t-key", plaintext);

        Assert.Equal(MinioPayloadCipher.EncryptedLength(length), encrypted.Length);
        Assert.Equal(plaintext, MinioPayloadCipher.Decrypt("s3cr3t-key", encrypted));
    }

    [Fact]
    public void Each_message_gets_a_fresh_salt_and_nonce()
    {
        var a = MinioPayloadCipher.Encrypt("pw-12345", "same"u8);
        var b = MinioPayloadCipher.Encrypt("pw-12345", "same"u8);

        Assert.NotEqual(a[..41], b[..41]);
    }

    [Fact]
    public void Wrong_password_is_a_typed_error()
    {
        var encrypted = MinioPayloadCipher.Encrypt("right-password", "{\"a\":1}"u8);

        var error = Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt("wrong-password", encrypted));
        Assert.DoesNotContain("right-password", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)] // salt
    [InlineData(33)] // nonce
    [InlineData(45)] // ciphertext
    [InlineData(-1)] // tag
    public void Any_flipped_bit_is_a_typed_error(int offset)
    {
        var encrypted = MinioPayloadCipher.Encrypt(FixedPassword, "{\"status\":\"enabled\"}"u8);
        encrypted[offset < 0 ? encrypted.Length + offset : offset] ^= 0x01;

        Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt(FixedPassword, encrypted));
    }

    [Fact]
    public void Unknown_algorithm_id_is_a_typed_error()
    {
        var encrypted = MinioPayloadCipher.Encrypt(FixedPassword, "x"u8);
        encrypted[32] = 0x07;

        Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt(FixedPassword, encrypted));
    }

    [Fact]
    public void Truncated_input_is_a_typed_error()
    {
        var encrypted = MinioPayloadCipher.Encrypt(FixedPassword, Enumerable.Repeat((byte)'b', 20_000).ToArray());

        Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt(FixedPassword, encrypted.AsSpan(0, 40)));
        Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt(FixedPassword, encrypted.AsSpan(0, 41 + 10)));
        // Dropping the final fragment leaves a non-final fragment in the final position: its flag no longer matches.
        Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt(FixedPassword, encrypted.AsSpan(0, 41 + 16_400)));
        Assert.Throws<MinioPayloadException>(() => MinioPayloadCipher.Decrypt(FixedPassword, encrypted.AsSpan(0, encrypted.Length - 1)));
    }

    [Fact]
    public void Reports_the_cost_of_one_argon2id_key_derivation()
    {
        MinioPayloadCipher.DeriveKey("warm-up", FixedSalt, 0);
        var watch = Stopwatch.StartNew();
        MinioPayloadCipher.DeriveKey(FixedPassword, FixedSalt, 0);
        watch.Stop();

        output.WriteLine($"Argon2id (t=1, m=64 MiB, p=4) key derivation: {watch.ElapsedMilliseconds} ms");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), $"one derivation took {watch.Elapsed}");
    }
}
