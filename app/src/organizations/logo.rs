//! Logo uploads: only PNG, JPEG, GIF or WebP, recognised from the bytes themselves; at most
//! 2 MiB and 4,096 × 4,096 pixels, checked from the header before anything is decoded (a
//! tiny file can claim a huge image); then re-encoded by us into a square PNG thumbnail,
//! so the stored file is ours, never the uploader's bytes.

use std::io::Cursor;

use image::{imageops::FilterType, ImageFormat, ImageReader, Limits};
use sha2::{Digest, Sha256};

use crate::error::AppError;

pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
pub const MAX_DIMENSION: u32 = 4096;
/// The stored thumbnail is this many pixels square.
pub const THUMBNAIL_SIZE: u32 = 256;

/// A logo ready to store.
pub struct ProcessedLogo {
    pub png: Vec<u8>,
    /// SHA-256 of `png`, hex.
    pub hash: String,
}

/// Checks and re-encodes an uploaded logo. CPU-heavy: call on a blocking thread.
/// `file_name` and `declared_type` are what the browser claimed; they decide nothing, but a
/// file whose bytes contradict them is refused as a disguised upload.
pub fn process(
    bytes: &[u8],
    file_name: Option<&str>,
    declared_type: Option<&str>,
) -> Result<ProcessedLogo, String> {
    if bytes.is_empty() {
        return Err("Choose an image file for the logo.".into());
    }
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err("The logo must be at most 2 MiB.".into());
    }
    let format = match image::guess_format(bytes) {
        Ok(format @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)) => format,
        _ if looks_like_svg(bytes) => {
            return Err("SVG logos are not accepted (they can carry scripts). Upload a PNG, JPEG, GIF or WebP image.".into())
        }
        _ => return Err("The logo must be a PNG, JPEG, GIF or WebP image.".into()),
    };
    let claimed_by_name = file_name
        .and_then(|name| name.rsplit_once('.'))
        .and_then(|(_, extension)| ImageFormat::from_extension(extension));
    let claimed_by_type = declared_type.and_then(ImageFormat::from_mime_type);
    for claimed in [claimed_by_name, claimed_by_type].into_iter().flatten() {
        if claimed != format {
            return Err(format!(
                "The file is a {} image but is named or sent as {}. Save it with the right extension and try again.",
                format_name(format),
                format_name(claimed)
            ));
        }
    }

    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|_| damaged())?;
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return Err(format!(
            "The logo must be at most 4,096 × 4,096 pixels (this one is {width} × {height})."
        ));
    }

    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_DIMENSION);
    limits.max_image_height = Some(MAX_DIMENSION);
    limits.max_alloc = Some(128 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let image = reader.decode().map_err(|_| damaged())?;

    let thumbnail = image.resize_to_fill(THUMBNAIL_SIZE, THUMBNAIL_SIZE, FilterType::Lanczos3);
    let mut png = Vec::new();
    thumbnail
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .map_err(|_| damaged())?;
    let hash = hex::encode(Sha256::digest(&png));
    Ok(ProcessedLogo { png, hash })
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Ico => "ICO",
        _ => "different",
    }
}

fn damaged() -> String {
    "The logo file is damaged or incomplete. Try another file.".into()
}

fn looks_like_svg(bytes: &[u8]) -> bool {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_lowercase();
    head.contains("<svg") || head.trim_start().starts_with("<?xml")
}

/// A logo upload as the form sent it.
pub struct LogoUpload {
    pub organization_id: Option<String>,
    /// The file's bytes (empty when no file came), at most [`MAX_UPLOAD_BYTES`].
    pub bytes: Vec<u8>,
    /// What the browser claimed the file is: checked against its bytes by [`process`].
    pub file_name: Option<String>,
    pub content_type: Option<String>,
}

/// Reads the multipart form, refusing a file over [`MAX_UPLOAD_BYTES`] as soon as the
/// bytes read pass it.
pub async fn read_upload(
    mut multipart: multer::Multipart<'static>,
) -> Result<LogoUpload, AppError> {
    let mut organization_id = None;
    let mut bytes: Option<Vec<u8>> = None;
    let (mut file_name, mut content_type) = (None, None);
    let malformed = |_| AppError::field("logo", "The upload was interrupted. Try again.");
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        match field.name() {
            Some("organization_id") => {
                organization_id = Some(field.text().await.map_err(malformed)?);
            }
            Some("logo") => {
                file_name = field.file_name().map(str::to_owned);
                content_type = field
                    .content_type()
                    .map(|mime| mime.essence_str().to_owned());
                let mut buffer = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                    buffer.extend_from_slice(&chunk);
                    // Stop reading at once: the file is refused whatever follows.
                    if buffer.len() > MAX_UPLOAD_BYTES {
                        return Err(AppError::field("logo", "The logo must be at most 2 MiB."));
                    }
                }
                bytes = Some(buffer);
            }
            _ => {}
        }
    }
    Ok(LogoUpload {
        organization_id,
        bytes: bytes.unwrap_or_default(),
        file_name,
        content_type,
    })
}

/// Saves `org`'s processed logo (replacing any before), with its audit event; returns the
/// logo's content hash (its URL's version).
pub async fn save(
    db: &impl sea_orm::TransactionTrait,
    org: crate::server::entities::organization::Model,
    actor: &crate::audit::service::Actor,
    processed: ProcessedLogo,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, AppError> {
    use crate::server::entities::{organization, organization_logo};
    use sea_orm::{sea_query::OnConflict, ActiveModelTrait, EntityTrait, Set};

    let txn = db.begin().await?;
    organization_logo::Entity::insert(organization_logo::ActiveModel {
        organization_id: Set(org.id),
        content_hash: Set(processed.hash.clone()),
        image: Set(processed.png),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(organization_logo::Column::OrganizationId)
            .update_columns([
                organization_logo::Column::ContentHash,
                organization_logo::Column::Image,
                organization_logo::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec(&txn)
    .await?;
    let mut org: organization::ActiveModel = org.into();
    org.logo_hash = Set(Some(processed.hash.clone()));
    org.updated_at = Set(now);
    let org = org.update(&txn).await?;
    crate::audit::service::NewEvent::of(
        org.id,
        actor,
        crate::audit::events::EventKind::LogoChanged,
    )
    .record(&txn, now)
    .await?;
    txn.commit().await?;
    Ok(processed.hash)
}
