// Package azsdkcheck checks Tokendesk's "az" stand-in against the Azure SDK for Go's
// AzureCLICredential (github.com/Azure/azure-sdk-for-go/sdk/azidentity). It is a module
// of its own so the Tokendesk module does not depend on the Azure SDK: the cli package's
// TestAzureSDKForGoThroughAzLinkBinary runs this module's test with the environment it
// prepares (TOKENDESK_AZSDKCHECK=1, an az link first on PATH, a loopback Entra stand-in).
package azsdkcheck
