//! Who holds a network interface, from what DescribeNetworkInterfaces says of it.
//!
//! EC2 has no "owner service" field: `InterfaceType` names some services, and the
//! rest are plain `interface`s told apart by the description or requester the
//! service gave them. Those descriptions are conventions, not an API, so anything
//! not recognized falls back to `Instance` (attached to an instance) or `Other`.

use serde::Serialize;

/// What holds a network interface's addresses, as its type and description tell
/// ([`Holder::classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    /// EKS: VPC CNI interfaces of nodes and pods, trunk/branch interfaces, and the
    /// cluster's control-plane interfaces.
    Eks,
    /// An EC2 instance's own interface.
    Instance,
    LoadBalancer,
    Lambda,
    NatGateway,
    VpcEndpoint,
    TransitGateway,
    /// Anything else (EFS, RDS, QuickSight... or an interface nobody attached).
    Other,
}

/// Prefix of the descriptions of EKS's node-side interfaces: `aws-K8S-` from the VPC
/// CNI (secondary interfaces of nodes), `aws-k8s-` from the VPC resource controller
/// (trunk and branch interfaces). Compared without regard to case.
const EKS_NODE_PREFIX: &str = "aws-k8s-";
/// The cluster's control-plane interfaces: `Amazon EKS <cluster name>`.
const EKS_CONTROL_PLANE_PREFIX: &str = "Amazon EKS ";
/// Application and Classic Load Balancers: `ELB app/<name>/<id>`, `ELB <name>`.
const ELB_PREFIX: &str = "ELB ";
const ELB_REQUESTER: &str = "amazon-elb";
/// `AWS Lambda VPC ENI-<function>-<uuid>`, from before the `lambda` type existed.
const LAMBDA_PREFIX: &str = "AWS Lambda VPC ENI";
/// `Interface for NAT Gateway nat-...`.
const NAT_PREFIX: &str = "Interface for NAT Gateway";

impl Holder {
    /// The name the report gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Holder::Eks => "eks",
            Holder::Instance => "instance",
            Holder::LoadBalancer => "load_balancer",
            Holder::Lambda => "lambda",
            Holder::NatGateway => "nat_gateway",
            Holder::VpcEndpoint => "vpc_endpoint",
            Holder::TransitGateway => "transit_gateway",
            Holder::Other => "other",
        }
    }

    /// Classifies an interface by its `InterfaceType`, `Description`, `RequesterId` and
    /// whether an instance is attached. A service's own interface type wins; then the
    /// descriptions services are known to write; then the instance it hangs on.
    pub fn classify(
        interface_type: &str,
        description: &str,
        requester_id: Option<&str>,
        instance_attached: bool,
    ) -> Holder {
        if let Some(holder) = by_type(interface_type) {
            return holder;
        }
        if let Some(holder) = by_description(description, requester_id) {
            return holder;
        }
        // Only a plain interface (or one with no type at all, as old answers and
        // emulators give) can be an instance's own; `efa`, `efs`, `quicksight`... on
        // an instance are still another service's.
        if instance_attached && matches!(interface_type, "interface" | "") {
            Holder::Instance
        } else {
            Holder::Other
        }
    }
}

/// The holder the interface type alone names; `None` for `interface` and for types
/// that belong to services this tool does not count apart.
fn by_type(interface_type: &str) -> Option<Holder> {
    Some(match interface_type {
        // Security groups for pods: a trunk on the node, a branch per pod.
        "trunk" | "branch" => Holder::Eks,
        "load_balancer" | "network_load_balancer" | "gateway_load_balancer" => Holder::LoadBalancer,
        "lambda" => Holder::Lambda,
        // The API reference writes `natGateway`; DescribeNetworkInterfaces answers
        // `nat_gateway`.
        "nat_gateway" | "natGateway" => Holder::NatGateway,
        "vpc_endpoint" | "gateway_load_balancer_endpoint" => Holder::VpcEndpoint,
        "transit_gateway" => Holder::TransitGateway,
        _ => return None,
    })
}

/// The holder a service's description (or requester) gives away.
fn by_description(description: &str, requester_id: Option<&str>) -> Option<Holder> {
    let starts = |prefix: &str| description.starts_with(prefix);
    let starts_ignoring_case = |prefix: &str| {
        description
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if starts_ignoring_case(EKS_NODE_PREFIX) || starts(EKS_CONTROL_PLANE_PREFIX) {
        Some(Holder::Eks)
    } else if starts(ELB_PREFIX) || requester_id == Some(ELB_REQUESTER) {
        Some(Holder::LoadBalancer)
    } else if starts(LAMBDA_PREFIX) {
        Some(Holder::Lambda)
    } else if starts(NAT_PREFIX) {
        Some(Holder::NatGateway)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unattached interface of type `interface`, as most service interfaces are.
    fn plain(description: &str, requester: Option<&str>) -> Holder {
        Holder::classify("interface", description, requester, false)
    }

    #[test]
    fn the_table_and_the_report_name_each_holder_alike() {
        use Holder::*;
        let all = [
            Eks,
            Instance,
            LoadBalancer,
            Lambda,
            NatGateway,
            VpcEndpoint,
            TransitGateway,
            Other,
        ];
        for h in all {
            assert_eq!(serde_json::to_value(h).unwrap(), h.as_str(), "{h:?}");
        }
    }

    #[test]
    fn vpc_cni_and_resource_controller_interfaces_are_eks() {
        // Secondary interface the VPC CNI attached to a node.
        let cni = "aws-K8S-i-0a1b2c3d4e5f67890";
        assert_eq!(Holder::classify("interface", cni, None, true), Holder::Eks);
        // Left behind when the node went away: still EKS's, not an instance's.
        assert_eq!(plain(cni, None), Holder::Eks);
        // Security groups for pods: trunk on the node, branch per pod.
        assert_eq!(
            Holder::classify("trunk", "aws-k8s-trunk-eni", None, true),
            Holder::Eks
        );
        assert_eq!(
            Holder::classify("branch", "aws-k8s-branch-eni", None, false),
            Holder::Eks
        );
        assert_eq!(plain("aws-k8s-branch-eni", None), Holder::Eks);
    }

    #[test]
    fn control_plane_interfaces_are_eks() {
        assert_eq!(
            plain("Amazon EKS prod-blue", Some("123456789012")),
            Holder::Eks
        );
        // Not a prefix match on "Amazon EKS" without the space.
        assert_eq!(plain("Amazon EKSfoo", None), Holder::Other);
    }

    #[test]
    fn load_balancers_by_type_description_or_requester() {
        // NLB and GWLB have types of their own.
        assert_eq!(
            Holder::classify(
                "network_load_balancer",
                "ELB net/int-nlb/50dc6c495c0c9188",
                Some("amazon-elb"),
                false
            ),
            Holder::LoadBalancer
        );
        assert_eq!(
            Holder::classify(
                "gateway_load_balancer",
                "ELB gwy/inspect/0123abcd",
                None,
                false
            ),
            Holder::LoadBalancer
        );
        assert_eq!(
            Holder::classify("load_balancer", "", None, false),
            Holder::LoadBalancer
        );
        // ALB and CLB interfaces are plain `interface`s.
        assert_eq!(
            plain("ELB app/web-alb/50dc6c495c0c9188", Some("amazon-elb")),
            Holder::LoadBalancer
        );
        assert_eq!(plain("ELB legacy-clb", None), Holder::LoadBalancer);
        assert_eq!(plain("", Some("amazon-elb")), Holder::LoadBalancer);
    }

    #[test]
    fn lambda_by_type_or_description() {
        assert_eq!(
            Holder::classify(
                "lambda",
                "AWS Lambda VPC ENI-report-builder-1a2b3c4d",
                None,
                false
            ),
            Holder::Lambda
        );
        assert_eq!(
            plain(
                "AWS Lambda VPC ENI-report-builder-1a2b3c4d",
                Some("AROAEXAMPLE:report-builder")
            ),
            Holder::Lambda
        );
    }

    #[test]
    fn nat_gateways_under_either_spelling_or_description() {
        let description = "Interface for NAT Gateway nat-0123456789abcdef0";
        assert_eq!(
            Holder::classify("nat_gateway", description, None, false),
            Holder::NatGateway
        );
        assert_eq!(
            Holder::classify("natGateway", "", None, false),
            Holder::NatGateway
        );
        assert_eq!(plain(description, None), Holder::NatGateway);
    }

    #[test]
    fn endpoints_and_transit_gateways_by_type() {
        assert_eq!(
            Holder::classify(
                "vpc_endpoint",
                "VPC Endpoint Interface vpce-0123abcd",
                None,
                false
            ),
            Holder::VpcEndpoint
        );
        assert_eq!(
            Holder::classify(
                "gateway_load_balancer_endpoint",
                "VPC Endpoint Interface vpce-0456",
                None,
                false
            ),
            Holder::VpcEndpoint
        );
        assert_eq!(
            Holder::classify(
                "transit_gateway",
                "Network Interface for Transit Gateway Attachment tgw-attach-0123",
                None,
                false
            ),
            Holder::TransitGateway
        );
    }

    #[test]
    fn an_unrecognized_plain_interface_on_an_instance_is_the_instances() {
        assert_eq!(
            Holder::classify("interface", "", None, true),
            Holder::Instance
        );
        assert_eq!(
            Holder::classify(
                "interface",
                "Primary network interface",
                Some("123456789012"),
                true
            ),
            Holder::Instance
        );
        // No type at all (old answers, emulators): read as a plain interface.
        assert_eq!(Holder::classify("", "", None, true), Holder::Instance);
    }

    #[test]
    fn everything_else_is_other() {
        // Detached and unrecognized: nobody can be named.
        assert_eq!(plain("", None), Holder::Other);
        assert_eq!(
            plain("RDSNetworkInterface", Some("amazon-rds")),
            Holder::Other
        );
        // Services with types of their own that this tool does not count apart, even
        // when the interface hangs on an instance (EFA).
        for t in [
            "efa",
            "efa-only",
            "efs",
            "quicksight",
            "global_accelerator_managed",
            "api_gateway_managed",
            "iot_rules_managed",
            "aws_codestar_connections_managed",
        ] {
            assert_eq!(Holder::classify(t, "", None, true), Holder::Other, "{t}");
        }
    }
}
