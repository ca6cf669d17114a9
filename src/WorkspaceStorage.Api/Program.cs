using WorkspaceStorage.Api.Hosting;

if (args.Length > 0 && args[0] == DevTokenCommand.Name)
{
    return DevTokenCommand.Run(args[1..], Console.Out, Console.Error);
}

var app = ApiApplication.Build(args);
await app.RunAsync();
return 0;
