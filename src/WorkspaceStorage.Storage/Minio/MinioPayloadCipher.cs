using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Parameters;
using WorkspaceStorage.Storage.Backends;

namespace WorkspaceStorage.Storage.Minio;

/// <summary>
/// madmin's EncryptData / DecryptData: the sio-go stream format keyed with a password (the secret key of the
/// credential that signs the request). Layout: salt(32) ‖ id(1) ‖ nonce prefix(8) ‖ fragments, each fragment
/// an AEAD ciphertext of at most 16 KiB plus a 16-byte tag. Encrypts with id 0 (Argon2id + AES-256-GCM);
/// decrypts ids 0, 1 (Argon2id + ChaCha20-Poly1305) and 2 (PBKDF2-SHA256 + AES-256-GCM, FIPS builds).
/// </summary>
/// <remarks>
/// Every message has its own random salt, so the 64 MiB Argon2id derivation runs once per message and its key
/// is never cached: a cache keyed by salt would never hit.
/// </remarks>
public static class MinioPayloadCipher
{
    public const byte Argon2IdAesGcm = 0x00;
    public const byte Argon2IdChaCha20Poly1305 = 0x01;
    public const byte Pbkdf2AesGcm = 0x02;

    public const int SaltLength = 32;
    public const int NonceLength = 8;
    public const int HeaderLength = SaltLength + 1 + NonceLength;
    public const int TagLength = 16;

    /// <summary>sio-go's BufSize: plaintext bytes per fragment.</summary>
    public const int FragmentPlaintextLength = 16 * 1024;

    private const int FragmentCiphertextLength = FragmentPlaintextLength + TagLength;
    private const int KeyLength = 32;
    private const int Pbkdf2Iterations = 8192;
    private const byte FinalFlag = 0x80;

    /// <summary>Encrypts <paramref name="plaintext"/> with a fresh random salt and nonce (id 0).</summary>
    public static byte[] Encrypt(string password, ReadOnlySpan<byte> plaintext) =>
        Encrypt(password, plaintext, RandomNumberGenerator.GetBytes(SaltLength), RandomNumberGenerator.GetBytes(NonceLength), Argon2IdAesGcm);

    /// <summary>Deterministic variant for test vectors. Never reuse a salt and nonce for real traffic.</summary>
    internal static byte[] Encrypt(string password, ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> salt, ReadOnlySpan<byte> nonce, byte id)
    {
        ArgumentNullException.ThrowIfNull(password);
        if (salt.Length != SaltLength || nonce.Length != NonceLength)
        {
            throw new ArgumentException($"salt must be {SaltLength} bytes and nonce {NonceLength} bytes");
        }

        var key = DeriveKey(password, salt, id);
        try
        {
            using var aead = CreateAead(id, key);
            var fragments = Math.Max(1, (plaintext.Length + FragmentPlaintextLength - 1) / FragmentPlaintextLength);
            var output = new byte[HeaderLength + plaintext.Length + (fragments * TagLength)];
            salt.CopyTo(output);
            output[SaltLength] = id;
            nonce.CopyTo(output.AsSpan(SaltLength + 1));

            Span<byte> associated = stackalloc byte[1 + TagLength];
            aead.Seal(Nonce(nonce, 0), [], [], associated[1..], []);
            Span<byte> fragmentNonce = stackalloc byte[12];
            var written = HeaderLength;
            for (var i = 0; i < fragments; i++)
            {
                var start = i * FragmentPlaintextLength;
                var piece = plaintext.Slice(start, Math.Min(FragmentPlaintextLength, plaintext.Length - start));
                associated[0] = i == fragments - 1 ? FinalFlag : (byte)0;
                Nonce(nonce, (uint)(i + 1)).CopyTo(fragmentNonce);
                aead.Seal(fragmentNonce, piece, output.AsSpan(written, piece.Length), output.AsSpan(written + piece.Length, TagLength), associated);
                written += piece.Length + TagLength;
            }

            return output;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Decrypts and authenticates a madmin payload.</summary>
    /// <exception cref="MinioPayloadException">Truncated, tampered, unknown algorithm id, or the wrong password.</exception>
    public static byte[] Decrypt(string password, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(password);
        // The smallest valid message is the header and one empty final fragment (its tag alone).
        if (data.Length < HeaderLength + TagLength)
        {
            throw new MinioPayloadException($"encrypted payload is truncated ({data.Length} bytes, at least {HeaderLength + TagLength} expected)");
        }

        var id = data[SaltLength];
        if (id is not (Argon2IdAesGcm or Argon2IdChaCha20Poly1305 or Pbkdf2AesGcm))
        {
            throw new MinioPayloadException($"encrypted payload names an unknown algorithm id 0x{id:x2}");
        }

        var nonce = data.Slice(SaltLength + 1, NonceLength);
        var body = data[HeaderLength..];
        var fragments = Math.Max(1, (body.Length + FragmentCiphertextLength - 1) / FragmentCiphertextLength);
        var lastLength = body.Length - ((fragments - 1) * FragmentCiphertextLength);
        if (lastLength < TagLength)
        {
            throw new MinioPayloadException("encrypted payload is truncated (last fragment shorter than its tag)");
        }

        var key = DeriveKey(password, data[..SaltLength], id);
        try
        {
            using var aead = CreateAead(id, key);
            var plaintext = new byte[body.Length - (fragments * TagLength)];
            Span<byte> associated = stackalloc byte[1 + TagLength];
            aead.Seal(Nonce(nonce, 0), [], [], associated[1..], []);
            Span<byte> fragmentNonce = stackalloc byte[12];
            for (var i = 0; i < fragments; i++)
            {
                var final = i == fragments - 1;
                var fragment = body.Slice(i * FragmentCiphertextLength, final ? lastLength : FragmentCiphertextLength);
                var cipherLength = fragment.Length - TagLength;
                associated[0] = final ? FinalFlag : (byte)0;
                Nonce(nonce, (uint)(i + 1)).CopyTo(fragmentNonce);
                try
                {
                    aead.Open(fragmentNonce, fragment[..cipherLength], fragment[cipherLength..],
                        plaintext.AsSpan(i * FragmentPlaintextLength, cipherLength), associated);
                }
                catch (CryptographicException)
                {
                    CryptographicOperations.ZeroMemory(plaintext);
                    throw new MinioPayloadException(
                        $"encrypted payload is not authentic (fragment {i + 1} of {fragments}): wrong secret key, tampered or truncated data");
                }
            }

            return plaintext;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Total length of an encrypted message for a plaintext of <paramref name="plaintextLength"/> bytes.</summary>
    public static int EncryptedLength(int plaintextLength) =>
        HeaderLength + plaintextLength + (TagLength * Math.Max(1, (plaintextLength + FragmentPlaintextLength - 1) / FragmentPlaintextLength));

    internal static byte[] DeriveKey(string password, ReadOnlySpan<byte> salt, byte id)
    {
        var passwordBytes = Encoding.UTF8.GetBytes(password);
        try
        {
            if (id == Pbkdf2AesGcm)
            {
                return Rfc2898DeriveBytes.Pbkdf2(passwordBytes, salt, Pbkdf2Iterations, HashAlgorithmName.SHA256, KeyLength);
            }

            // madmin: argon2.IDKey(password, salt, time 1, memory 64 MiB, threads 4, 32 bytes). The lane count is part
            // of the output, so parallelism must be 4 even though BouncyCastle computes the lanes one after another.
            var parameters = new Argon2Parameters.Builder(Argon2Parameters.Argon2id)
                .WithVersion(Argon2Parameters.Version13)
                .WithIterations(1)
                .WithMemoryAsKB(64 * 1024)
                .WithParallelism(4)
                .WithSalt(salt.ToArray())
                .Build();
            var generator = new Argon2BytesGenerator();
            generator.Init(parameters);
            var key = new byte[KeyLength];
            generator.GenerateBytes(passwordBytes, key);
            return key;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(passwordBytes);
        }
    }

    private static IAead CreateAead(byte id, byte[] key) =>
        id == Argon2IdChaCha20Poly1305 ? new ChaChaAead(key) : new AesGcmAead(key);

    private static byte[] Nonce(ReadOnlySpan<byte> prefix, uint counter)
    {
        var nonce = new byte[12];
        prefix.CopyTo(nonce);
        BinaryPrimitives.WriteUInt32LittleEndian(nonce.AsSpan(NonceLength), counter);
        return nonce;
    }

    private interface IAead : IDisposable
    {
        void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associated);

        void Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associated);
    }

    private sealed class AesGcmAead(byte[] key) : IAead
    {
        private readonly AesGcm aes = new(key, TagLength);

        public void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associated) =>
            aes.Encrypt(nonce, plaintext, ciphertext, tag, associated);

        public void Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associated) =>
            aes.Decrypt(nonce, ciphertext, tag, plaintext, associated);

        public void Dispose() => aes.Dispose();
    }

    private sealed class ChaChaAead(byte[] key) : IAead
    {
        private readonly ChaCha20Poly1305 chacha = new(key);

        public void Seal(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> plaintext, Span<byte> ciphertext, Span<byte> tag, ReadOnlySpan<byte> associated) =>
            chacha.Encrypt(nonce, plaintext, ciphertext, tag, associated);

        public void Open(ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, ReadOnlySpan<byte> associated) =>
            chacha.Decrypt(nonce, ciphertext, tag, plaintext, associated);

        public void Dispose() => chacha.Dispose();
    }
}

/// <summary>An encrypted admin payload could not be read: truncated, tampered, or sealed with another secret key.</summary>
public sealed class MinioPayloadException(string message) : StorageBackendException(message, isTransient: false);
