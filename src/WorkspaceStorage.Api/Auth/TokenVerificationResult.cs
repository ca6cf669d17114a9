namespace WorkspaceStorage.Api.Auth;

/// <summary>Why a token was refused. Each maps to one short, fixed message (see <see cref="TokenFailure.Detail"/>).</summary>
public enum TokenFailureReason
{
    Malformed,
    TooLarge,
    UnsupportedAlgorithm,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MalformedScope,
}

/// <summary>A refused token: the reason and a short message fit for a 401 body. Never contains token material.</summary>
public sealed record TokenFailure(TokenFailureReason Reason, string Detail);

/// <summary>Either a verified principal or a failure.</summary>
public sealed record TokenVerificationResult
{
    private TokenVerificationResult(HyphaPrincipal? principal, TokenFailure? failure)
    {
        Principal = principal;
        Failure = failure;
    }

    public HyphaPrincipal? Principal { get; }

    public TokenFailure? Failure { get; }

    public bool Succeeded => Principal is not null;

    public static TokenVerificationResult Success(HyphaPrincipal principal) => new(principal, null);

    public static TokenVerificationResult Fail(TokenFailureReason reason, string detail) => new(null, new TokenFailure(reason, detail));
}
