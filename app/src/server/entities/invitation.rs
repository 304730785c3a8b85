use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub organization_id: i32,
    /// As typed by the inviter (trimmed); `email_normalized` is what is compared.
    pub email: String,
    pub email_normalized: String,
    /// The role granted on acceptance: "owner", "admin" or "member".
    pub role: String,
    /// "pending", "accepted", "declined" or "revoked". Expiry is `expires_at`, not a status.
    pub status: String,
    /// SHA-256 of the link's token; replaced on resend, so an older link stops working.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub invited_by: Option<i32>,
    pub created_at: DateTimeUtc,
    /// When the current link was sent (creation or the latest resend).
    pub sent_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// When it stopped being pending.
    pub closed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organization::Entity",
        from = "Column::OrganizationId",
        to = "super::organization::Column::Id",
        on_delete = "Cascade"
    )]
    Organization,
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::InvitedBy",
        to = "super::user::Column::Id",
        on_delete = "SetNull"
    )]
    Inviter,
}

impl Related<super::organization::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organization.def()
    }
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Inviter.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
