// Entry point only so the project builds while its parts are written on separate branches;
// the host (flags, leader election, controllers, /metrics, /healthz) is wired by the lead.
return 0;
