using DotNet.Testcontainers.Configurations;

namespace WorkspaceStorage.EndToEnd.Tests.Infrastructure;

/// <summary>
/// Whether a Docker engine answers, by Testcontainers' own detection (DOCKER_HOST, ~/.testcontainers.properties,
/// the Docker socket, Docker Desktop's socket, rootless Docker; each candidate is pinged), with a reason that names
/// what was looked at when none answers.
/// </summary>
internal sealed record DockerAvailability(bool Available, string Reason)
{
    /// <summary>Set to 1 (as CI with Docker should) to make a missing Docker a failure instead of a skip.</summary>
    public const string RequiredVariable = "WSO_E2E_DOCKER_REQUIRED";

    public static DockerAvailability Detect()
    {
        IDockerEndpointAuthenticationConfiguration? endpoint;
        try
        {
            endpoint = TestcontainersSettings.OS.DockerEndpointAuthConfig;
        }
        catch (Exception error) when (error is TypeInitializationException or InvalidOperationException or IOException)
        {
            return new(false, $"Testcontainers could not look for a Docker engine ({error.GetBaseException().Message})");
        }

        if (endpoint is not null)
        {
            return new(true, $"Docker answers at {endpoint.Endpoint}");
        }

        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        var looked = string.IsNullOrEmpty(dockerHost)
            ? $"DOCKER_HOST is unset and {DescribeSocket("/var/run/docker.sock")}"
            : $"DOCKER_HOST={dockerHost} does not answer";
        return new(false, $"no Docker engine answers ({looked}); K3s needs one. Run where `docker info` works, or set {RequiredVariable}=1 to fail instead of skip");
    }

    private static string DescribeSocket(string path) =>
        File.Exists(path) || Directory.Exists(path) ? $"{path} does not answer" : $"{path} does not exist";
}
