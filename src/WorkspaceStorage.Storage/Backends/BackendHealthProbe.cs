using System.Globalization;

namespace WorkspaceStorage.Storage.Backends;

/// <summary>Runs a backend's health probe and turns its failures into a <see cref="BackendHealth"/> that names no secret.</summary>
public static class BackendHealthProbe
{
    public static async Task<BackendHealth> RunAsync(string backendType, Uri endpoint, Func<Task<BackendHealth>> probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        try
        {
            return await probe();
        }
        catch (BackendAuthenticationException ex)
        {
            return new BackendHealth(false, $"{backendType} at {endpoint}: admin credentials refused ({ex.ErrorCode ?? ex.StatusCode?.ToString(CultureInfo.InvariantCulture)})");
        }
        catch (StorageBackendException ex)
        {
            return new BackendHealth(false, $"{backendType} at {endpoint}: {ex.Message}");
        }
    }
}
