"""HTTP clients of our own services, shared by the entry points (voice gateway, staff API): one class per
service, one session per process. Below the entry points, beside the domain; imports only common/."""
